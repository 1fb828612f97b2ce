"""A waiting room's live state in Redis, changed only by the Lua scripts below.

Every key of room R is `q:{R}:<name>`: the hash tag keeps one room in one
Redis Cluster slot, so each script touches one slot. Keys:

- `st`   hash: phase (pre|shuffling|open), tail, serving, last (last tick,
         unix s), carry, base, sold_out, left (tickets left), config pushed by
         the tick (rate, max, pass_s, grace, cap, exp, mode, guard, paused,
         draining, pq_at, sale_at, commitment, seed once revealed)
- `map`  hash: visitor -> number
- `pre`  sorted set: visitors who joined before the sale opened (score =
         join time, informative only: the order comes from the shuffle)
- `pend` sorted set: admitted numbers not yet claimed (score = admit time);
         they hold a shopper slot until the no-show grace ends
- `act`  sorted set: visitors shopping with a claimed pass (score = expiry)
- `pexp` hash: visitor -> pass expiry, fixed when the pass is first issued
- `done` set: visitors whose order was paid (pass ended)
- `cnt`  hash: joined, admitted, claimed, no_show, completed
- `series` list: recent counter points for the staff chart

Numbers are returned to Python as strings: Redis truncates Lua floats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django_redis import get_redis_connection

NAMES = ("st", "map", "pre", "pend", "act", "pexp", "done", "cnt", "series")


def keys(room_id: int) -> dict[str, str]:
    return {name: f"q:{{{room_id}}}:{name}" for name in NAMES}


def conn():
    return get_redis_connection("default")


# join: KEYS st map pre cnt; ARGV visitor now
# -> {code, n, then the room fields the answer needs (JOIN_FIELDS)}: code "n" =
#    number n; "pre" = in the pre-queue (n = its size); "drawing" = shuffle in
#    progress; "missing" = room state not built yet; "not_open" / "closed".
JOIN_FIELDS = ("phase", "serving", "eff", "rate", "guard", "paused", "draining", "sold_out", "left",
               "measured")  # fmt: skip
JOIN = """
local function answer(code, n)
  local f = redis.call('HMGET', KEYS[1], 'phase', 'serving', 'eff', 'rate', 'guard', 'paused',
                       'draining', 'sold_out', 'left', 'measured')
  for i = 1, 10 do f[i] = f[i] or '' end
  return {code, tostring(n), f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]}
end
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase then return {'missing', '0'} end
local n = redis.call('HGET', KEYS[2], ARGV[1])
if n then return answer('n', n) end
local now = tonumber(ARGV[2])
local pq = tonumber(redis.call('HGET', KEYS[1], 'pq_at') or '0')
if now < pq then return {'not_open', '0'} end
if redis.call('HGET', KEYS[1], 'draining') == '1' then return {'closed', '0'} end
if phase == 'pre' then
  redis.call('ZADD', KEYS[3], 'NX', now, ARGV[1])
  return answer('pre', redis.call('ZCARD', KEYS[3]))
end
if phase == 'shuffling' and redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return answer('drawing', 0)
end
n = redis.call('HINCRBY', KEYS[1], 'tail', 1)
redis.call('HSET', KEYS[2], ARGV[1], n)
redis.call('HINCRBY', KEYS[4], 'joined', 1)
return answer('n', n)
"""

# status: KEYS st map pre pexp done; ARGV visitor token_number now
# -> phase, number, serving, done, pass expiry, then the settings the answer
#    needs (eff rate cap ...): one round trip per poll.
# A number carried by a valid token but missing from `map` (Redis was lost)
# is registered again, so visitors keep their places.
STATUS = """
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase then return {'missing'} end
local n = redis.call('HGET', KEYS[2], ARGV[1])
local tn = tonumber(ARGV[2])
if n and tn > 0 and tn < tonumber(n) then
  -- a signed earlier place (e.g. re-joined after a Redis loss): never worse
  redis.call('HSET', KEYS[2], ARGV[1], tn)
  n = tostring(tn)
end
if not n and tn > 0 then
  redis.call('HSET', KEYS[2], ARGV[1], tn)
  if tonumber(redis.call('HGET', KEYS[1], 'tail') or '0') < tn then
    redis.call('HSET', KEYS[1], 'tail', tn)
  end
  n = tostring(tn)
end
if not n and phase == 'pre' and tn == 0 then
  redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[1])
end
n = n or '0'
local serving = tonumber(redis.call('HGET', KEYS[1], 'serving') or '0')
local done = redis.call('SISMEMBER', KEYS[5], ARGV[1])
local pexp = '0'
if tonumber(n) > 0 and tonumber(n) <= serving and done == 0 then
  pexp = redis.call('HGET', KEYS[4], ARGV[1])
  if not pexp then
    local pass_s = tonumber(redis.call('HGET', KEYS[1], 'pass_s') or '900')
    pexp = tostring(math.floor(tonumber(ARGV[3]) + pass_s))
    redis.call('HSET', KEYS[4], ARGV[1], pexp)
  end
end
local c = redis.call('HMGET', KEYS[1], 'eff', 'rate', 'left', 'cap', 'event', 'guard',
                     'paused', 'draining', 'sold_out', 'measured')
for i = 1, 10 do c[i] = c[i] or '' end
return {phase, n, tostring(serving), tostring(done), pexp,
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]}
"""

# tick: KEYS st pend act cnt; ARGV now remaining_stock(-1 = unknown)
# admit = min(eff_rate * elapsed + carry, max - (active + pending), tail - serving,
#             stock cap); stock cap = ceil((remaining - pending * exp) / exp), the
#             buyers the sellable stock can still serve once the admitted
#             visitors not yet shopping have their expected share. `last` only
#             moves forward inside the script, so two ticks at once (or out of
#             order) share one elapsed interval: nobody twice.
TICK = """
local st, pend, act, cnt = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
local phase = redis.call('HGET', st, 'phase')
if not phase then return {'missing'} end
redis.call('ZREMRANGEBYSCORE', act, '-inf', now)
local grace = tonumber(redis.call('HGET', st, 'grace') or '120')
local ns = redis.call('ZREMRANGEBYSCORE', pend, '-inf', now - grace)
if ns > 0 then redis.call('HINCRBY', cnt, 'no_show', ns) end
local last = tonumber(redis.call('HGET', st, 'last') or ARGV[1])
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
if elapsed > 10 then elapsed = 10 end
if now > last or not redis.call('HGET', st, 'last') then redis.call('HSET', st, 'last', ARGV[1]) end
local tail = tonumber(redis.call('HGET', st, 'tail') or '0')
local serving = tonumber(redis.call('HGET', st, 'serving') or '0')
local active = redis.call('ZCARD', act) + redis.call('ZCARD', pend)
local claimed = tonumber(redis.call('HGET', cnt, 'claimed') or '0')
local noshow = tonumber(redis.call('HGET', cnt, 'no_show') or '0')
local ratio = 0
if claimed + noshow >= 20 then ratio = noshow / (claimed + noshow) end
if ratio > 0.5 then ratio = 0.5 end
local eff = tonumber(redis.call('HGET', st, 'rate') or '0') / 60 / (1 - ratio)
local want = eff * elapsed + tonumber(redis.call('HGET', st, 'carry') or '0')
local admit = math.floor(want)
local carry = want - admit
local room = tonumber(redis.call('HGET', st, 'max') or '0') - active
if room < admit then admit = room end
if tail - serving < admit then admit = tail - serving end
local remaining = tonumber(ARGV[2])
local per = tonumber(redis.call('HGET', st, 'exp') or '2')
if per <= 0 then per = 1 end
if remaining >= 0 then
  redis.call('HSET', st, 'left', ARGV[2])
  -- Only admitted visitors who have not reached the shop yet (`pend`) still
  -- need stock: a shopper in `act` has made their hold, and its seats are
  -- already out of `remaining` (counting them again sold the room out early);
  -- one who paid, cancelled or gave up needs nothing more.
  local tickets = remaining - redis.call('ZCARD', pend) * per
  -- buyers the stock can still serve (one more as long as a ticket is left)
  local spare = 0
  if tickets >= 1 then spare = math.ceil(tickets / per) end
  if spare < admit then admit = spare end
end
-- Never before the sale's own time, even in an open room (a sale moved later
-- after its room had opened): an admitted visitor would find the phase closed.
if phase ~= 'open' or redis.call('HGET', st, 'paused') == '1'
   or redis.call('HGET', st, 'draining') == '1'
   or now < tonumber(redis.call('HGET', st, 'sale_at') or '0') then
  admit = 0
  carry = 0
end
if admit < 0 then admit = 0 end
-- Sold out for everyone still waiting only when not one ticket is left to
-- sell; it lifts as stock comes back (expired holds, cancelled orders). Stock
-- spoken for by admitted visitors still on their way only holds admission
-- back (those visitors may not come: their slots lapse after the grace).
local sold_out = 0
if remaining >= 0 and remaining < 1 then sold_out = 1 end
redis.call('HSET', st, 'sold_out', sold_out)
for i = 1, admit do redis.call('ZADD', pend, now, serving + i) end
if admit > 0 then
  redis.call('HSET', st, 'serving', serving + admit)
  redis.call('HINCRBY', cnt, 'admitted', admit)
end
redis.call('HSET', st, 'carry', tostring(carry), 'eff', tostring(eff * 60))
return {'ok', tostring(admit), tostring(serving + admit), tostring(tail),
        tostring(active), tostring(sold_out), tostring(ratio)}
"""

# claim: KEYS st act pend done cnt; ARGV visitor number expiry now
# -> 1 already shopping, 2 claimed now, -1 ended (paid), -2 expired, -3 full.
# The first use of a pass takes the slot its admission reserved in `pend`;
# a late claim (counted as a no-show meanwhile) needs a free slot, checked
# atomically so concurrent claims never exceed max.
CLAIM = """
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return -1 end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 1 end
if tonumber(ARGV[3]) <= tonumber(ARGV[4]) then return -2 end
if redis.call('ZREM', KEYS[3], ARGV[2]) == 0 then
  local max = tonumber(redis.call('HGET', KEYS[1], 'max') or '0')
  if redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) >= max then return -3 end
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'claimed', 1)
return 2
"""

# complete: KEYS act done cnt; ARGV visitor
COMPLETE = """
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'completed', 1)
  return 1
end
return 0
"""

# init: KEYS st cnt; ARGV json(state fields) json(counters). Only if absent,
# so two ticks rebuilding at once agree.
INIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local st = cjson.decode(ARGV[1])
for k, v in pairs(st) do redis.call('HSET', KEYS[1], k, tostring(v)) end
local c = cjson.decode(ARGV[2])
for k, v in pairs(c) do redis.call('HSET', KEYS[2], k, tostring(v)) end
return 1
"""

# close the pre-queue: KEYS st pre. Reserves numbers base+1..base+k for the k
# pre-queue visitors; later joins get numbers after them (FIFO).
CLOSE_PRE = """
if redis.call('HGET', KEYS[1], 'phase') ~= 'pre' then return -1 end
local base = tonumber(redis.call('HGET', KEYS[1], 'tail') or '0')
local k = redis.call('ZCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'phase', 'shuffling', 'base', base, 'tail', base + k)
return k
"""

# back to the pre-queue: KEYS st. A room that opened while nobody had joined
# (its sale time was then moved later) takes joins into the pre-queue again,
# so they are drawn fairly at the new opening. Once anyone holds a number the
# room stays open (numbers are never taken back); the tick still admits
# nobody before the sale time.
REOPEN_PRE = """
if redis.call('HGET', KEYS[1], 'phase') ~= 'open' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'tail') or '0') ~= 0 then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'pre')
return 1
"""

# assign: KEYS map; ARGV visitor1 n1 visitor2 n2 ... (idempotent: HSETNX)
ASSIGN = """
for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return #ARGV / 2
"""

# finish: KEYS st pre; ARGV seed
FINISH = """
if redis.call('HGET', KEYS[1], 'phase') ~= 'shuffling' then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'open', 'seed', ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""


@dataclass
class _Scripts:
    join: object
    status: object
    tick: object
    claim: object
    complete: object
    init: object
    close_pre: object
    reopen_pre: object
    assign: object
    finish: object


_scripts: _Scripts | None = None


def scripts() -> _Scripts:
    """The registered scripts (EVALSHA with a transparent reload on NOSCRIPT)."""
    global _scripts
    if _scripts is None:
        r = conn()
        _scripts = _Scripts(
            join=r.register_script(JOIN),
            status=r.register_script(STATUS),
            tick=r.register_script(TICK),
            claim=r.register_script(CLAIM),
            complete=r.register_script(COMPLETE),
            init=r.register_script(INIT),
            close_pre=r.register_script(CLOSE_PRE),
            reopen_pre=r.register_script(REOPEN_PRE),
            assign=r.register_script(ASSIGN),
            finish=r.register_script(FINISH),
        )
    return _scripts


def k(room_id: int, *names: str) -> list[str]:
    ks = keys(room_id)
    return [ks[name] for name in names]


def join(room_id: int, visitor: str, now: float) -> tuple[str, int, dict[str, str]]:
    raw = scripts().join(keys=k(room_id, "st", "map", "pre", "cnt"), args=[visitor, now])
    out = [x.decode() for x in raw]
    return out[0], int(out[1]), dict(zip(JOIN_FIELDS, out[2:], strict=False))


def status(room_id: int, visitor: str, token_number: int, now: float) -> list[str]:
    out = scripts().status(
        keys=k(room_id, "st", "map", "pre", "pexp", "done"), args=[visitor, token_number, now]
    )
    return [x.decode() for x in out]


def tick(room_id: int, now: float, remaining: int) -> list[str]:
    out = scripts().tick(keys=k(room_id, "st", "pend", "act", "cnt"), args=[now, remaining])
    return [x.decode() for x in out]


def claim(room_id: int, visitor: str, number: int, expiry: float, now: float) -> int:
    return int(
        scripts().claim(
            keys=k(room_id, "st", "act", "pend", "done", "cnt"),
            args=[visitor, number, expiry, now],
        )
    )


def complete(room_id: int, visitor: str) -> int:
    return int(scripts().complete(keys=k(room_id, "act", "done", "cnt"), args=[visitor]))


def init(room_id: int, state: dict, counters: dict) -> bool:
    return bool(
        scripts().init(keys=k(room_id, "st", "cnt"), args=[json.dumps(state), json.dumps(counters)])
    )


def reopen_pre(room_id: int) -> bool:
    return bool(scripts().reopen_pre(keys=k(room_id, "st")))


def read(room_id: int) -> dict[str, str]:
    raw = conn().hgetall(keys(room_id)["st"])
    return {a.decode(): b.decode() for a, b in raw.items()}


def counters(room_id: int) -> dict[str, int]:
    ks = keys(room_id)
    r = conn()
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(ks["cnt"])
    pipe.zcard(ks["act"])
    pipe.zcard(ks["pend"])
    pipe.zcard(ks["pre"])
    raw, act, pend, pre = pipe.execute()
    out = {a.decode(): int(b) for a, b in raw.items()}
    out.update(active=act, pending=pend, prequeue=pre)
    return out
