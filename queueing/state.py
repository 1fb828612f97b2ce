"""A waiting room's live state in Redis, changed only from this module: by the
Lua scripts below, and for the room settings no script writes by
`settings_write` (which says why a plain HSET is safe there). Nothing else in
queueing writes these keys.

Every key of room R is `q:{R}:<name>`: the hash tag keeps one room in one
Redis Cluster slot, so each script touches one slot. Keys:

- `st`   hash: phase (pre|shuffling|open), tail, serving, last (last tick,
         unix s), carry, base, sold_out, left (tickets left), erate (the
         smoothed admissions a minute the ETAs use, see TICK), config pushed by
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
- `moved` hash: visitor -> the visitor their place was handed to (a device's
         place taken over by the account that signed in on it, HANDOVER)
- `gone` hash: visitor -> the highest number of theirs that no longer counts
         (handed over, or left for a new place): tokens and passes carrying
         a number at or below it are void, so a stale token can never bring
         an old place back
- `adm`  sorted set, written once by a rebuild from Postgres (INIT): the
         snapshots' admission history, member = the last time (unix s) the
         room was seen serving `score`; with `rserv` (the serving the rebuild
         started from) it bounds when a number was admitted (STATUS)
- `paid` hash, written once by a rebuild from Postgres (INIT): buyer -> the
         latest paid_at (unix s) of their paid orders for the event
- `cnt`  hash: joined, admitted, claimed, no_show, completed
- `series` list: recent counter points for the staff chart
- `pw`   sorted set: partner customers (`partner:<slug>:<ref>`) whose partner
         is to be told when they are admitted (score = their number); the
         tick hands those at or below `serving` to queueing.admissions and
         removes them (UNWATCH) once that is recorded in Postgres

Numbers are returned to Python as strings: Redis truncates Lua floats.
Scripts answer with named fields, a flat `{name, value, name, value, ...}`
array turned into a dict by `_named` (JOIN and STATUS, the crowd's calls: one
JSON object of the same names, see `_replying`), never positions unpacked by
index; the room's rules (settings.QUEUE_*, and the WaitingRoom defaults a
room hash without its settings falls back to) come in as ARGV, none is
written in Lua.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django_redis import get_redis_connection
from redis.cluster import ClusterNode, RedisCluster

from queueing.models import WaitingRoom

NAMES = ("st", "map", "pre", "pend", "act", "pexp", "done", "moved", "gone", "adm", "paid", "cnt",
         "series", "pw")  # fmt: skip


def keys(room_id: int) -> dict[str, str]:
    return {name: f"q:{{{room_id}}}:{name}" for name in NAMES}


_cluster: tuple[tuple[str, ...], RedisCluster] | None = None


def conn():
    """The waiting rooms' Redis: the project's own (django-redis), or a Redis
    Cluster when settings.QUEUE_REDIS_CLUSTER names its nodes. Every script
    and pipeline here touches the keys of one room only, all in one slot (the
    `{R}` hash tag), so the rooms spread over the cluster's masters and each
    call goes to the one that owns its room."""
    nodes = tuple(settings.QUEUE_REDIS_CLUSTER)
    if not nodes:
        return get_redis_connection("default")
    global _cluster
    if _cluster is None or _cluster[0] != nodes:
        startup = [ClusterNode(*_host_port(node)) for node in nodes]
        _cluster = (nodes, RedisCluster(startup_nodes=startup, socket_timeout=2,
                                        socket_connect_timeout=2))  # fmt: skip
    return _cluster[1]


def _host_port(node: str) -> tuple[str, int]:
    host, _, port = node.rpartition(":")
    return host or "127.0.0.1", int(port)


def _named(raw) -> dict[str, str]:
    """A script's answer, `{name, value, name, value, ...}`, as a dict of strings."""
    items = [x.decode() if isinstance(x, bytes) else str(x) for x in raw]
    return dict(zip(items[::2], items[1::2], strict=True))


def _default(field: str) -> int:
    # What a room hash without its settings falls back to: the room model's
    # own default, so the rule is written once (queueing/models.py).
    return int(WaitingRoom._meta.get_field(field).default)


def pass_seconds_default() -> int:
    return _default("pass_minutes") * 60


def tick_rules() -> list:
    """TICK's ARGV after `now remaining`, in its order (settings read per call)."""
    return [
        settings.QUEUE_TICK_ELAPSED_CAP_SECONDS,
        settings.QUEUE_NO_SHOW_MIN_SAMPLES,
        settings.QUEUE_NO_SHOW_MAX_PERCENT / 100,
        settings.QUEUE_RATE_SMOOTHING_SECONDS,
        _default("no_show_grace_seconds"),
        _default("expected_tickets_per_buyer"),
    ]


def _replying(fields: tuple[str, ...]) -> str:
    """The Lua `reply(out, room)` of JOIN and STATUS: their answer as one JSON
    object of strings (cjson), plus the room hash's `fields` when `room`. One
    bulk string to read instead of a flat array of ~35: parsing that array
    was the largest CPU cost of a status poll in the web process. The fields
    are named once, here, from JOIN_FIELDS / STATUS_FIELDS."""
    names = ", ".join(f"'{name}'" for name in fields)
    return f"""
local FIELDS = {{{names}}}
local function reply(out, room)
  if room then
    local values = redis.call('HMGET', KEYS[1], unpack(FIELDS))
    for i, name in ipairs(FIELDS) do out[name] = values[i] or '' end
  end
  return cjson.encode(out)
end
"""


# JOIN and STATUS come in two forms. The counted one first INCRs a caller's
# fixed-window rate counter, the API's throttle (api.throttling: the same key,
# limit and expiry as its own script), in the same round trip: KEYS[#KEYS] is
# the counter, ARGV[#ARGV - 1] the limit and ARGV[#ARGV] the expiry. Over the
# limit it answers code "throttled" and changes nothing else, as the throttle
# refused the request before the view. The counter is outside the room's
# slot, so the counted form runs only on the project's own Redis, never on a
# Redis Cluster (counted_supported).
_COUNTED = """
local count = redis.call('INCR', KEYS[#KEYS])
if count == 1 then redis.call('EXPIRE', KEYS[#KEYS], ARGV[#ARGV]) end
if count > tonumber(ARGV[#ARGV - 1]) then
  return cjson.encode({code = 'throttled', number = '0'})
end
"""


# join: KEYS st map pre cnt moved; ARGV visitor now
# -> (JSON) code, number, then the room fields JOIN_FIELDS: code "n" =
#    number n; "pre" = in the pre-queue (number = its size); "drawing" =
#    shuffle in progress; "missing" = room state not built yet; "not_open" /
#    "closed" (these three without the room fields).
JOIN_FIELDS = ("phase", "serving", "eff", "rate", "guard", "paused", "draining", "sold_out", "left",
               "erate")  # fmt: skip
JOIN = (
    _replying(JOIN_FIELDS)
    + """
local function answer(code, n) return reply({code = code, number = tostring(n)}, true) end
local function refused(code) return reply({code = code, number = '0'}, false) end
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase then return refused('missing') end
local n = redis.call('HGET', KEYS[2], ARGV[1])
if n then return answer('n', n) end
local now = tonumber(ARGV[2])
local pq = tonumber(redis.call('HGET', KEYS[1], 'pq_at') or '0')
if now < pq then return refused('not_open') end
if redis.call('HGET', KEYS[1], 'draining') == '1' then return refused('closed') end
-- A visitor joining on their own is no longer a handed-over one (a device
-- whose place went to an account, then signed out): its own place from now.
if phase == 'pre' then
  redis.call('ZADD', KEYS[3], 'NX', now, ARGV[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
  return answer('pre', redis.call('ZCARD', KEYS[3]))
end
if phase == 'shuffling' and redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return answer('drawing', 0)
end
n = redis.call('HINCRBY', KEYS[1], 'tail', 1)
redis.call('HSET', KEYS[2], ARGV[1], n)
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HINCRBY', KEYS[4], 'joined', 1)
return answer('n', n)
"""
)

# status: KEYS st map pre pexp done moved gone adm paid;
#   ARGV visitor token_number now pass_s_default
# -> (JSON) code (ok | missing), phase, number, serving, done, pexp (pass
#    expiry), visitor (the one answered for), then the room fields
#    STATUS_FIELDS: one round trip per poll.
# A visitor without a place whose place was handed over (`moved`, a device
# after its account signed in) is answered as the visitor who has it now, so
# a page still polling with the device's token agrees with the account's
# holds. A number carried by a valid token but missing from `map` (Redis was
# lost) is registered again, so visitors keep their places; a number at or
# below `gone` is void (that place was handed over or left for a new one).
# A number admitted before a Redis loss (at most `rserv`) whose pass expiry
# was lost is not given a fresh pass: its expiry counts from the last moment
# the snapshots saw it not yet admitted (`adm`; never later than the pass's
# real first issue, so an expired pass stays expired), and it has ended if
# the buyer has an order paid since (`paid`, from Postgres).
STATUS_FIELDS = ("eff", "rate", "left", "cap", "event", "guard", "paused", "draining", "sold_out",
                 "erate")  # fmt: skip
STATUS = (
    _replying(STATUS_FIELDS)
    + """
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase then return reply({code = 'missing'}, false) end
local v = ARGV[1]
local n = redis.call('HGET', KEYS[2], v)
if not n then
  local heir = redis.call('HGET', KEYS[6], v)
  if heir then
    v = heir
    n = redis.call('HGET', KEYS[2], v)
  end
end
local tn = tonumber(ARGV[2])
if tn > 0 and tn <= tonumber(redis.call('HGET', KEYS[7], v) or '0') then tn = -1 end
if n and tn > 0 and tn < tonumber(n) then
  -- a signed earlier place (e.g. re-joined after a Redis loss): never worse
  redis.call('HSET', KEYS[2], v, tn)
  n = tostring(tn)
end
if not n and tn > 0 then
  redis.call('HSET', KEYS[2], v, tn)
  if tonumber(redis.call('HGET', KEYS[1], 'tail') or '0') < tn then
    redis.call('HSET', KEYS[1], 'tail', tn)
  end
  n = tostring(tn)
end
if not n and phase == 'pre' and tn == 0 then
  redis.call('ZADD', KEYS[3], 'NX', ARGV[3], v)
end
n = n or '0'
local serving = tonumber(redis.call('HGET', KEYS[1], 'serving') or '0')
local done = redis.call('SISMEMBER', KEYS[5], v)
local pexp = '0'
if tonumber(n) > 0 and tonumber(n) <= serving and done == 0 then
  pexp = redis.call('HGET', KEYS[4], v)
  if not pexp then
    local pass_s = tonumber(redis.call('HGET', KEYS[1], 'pass_s') or ARGV[4])
    local issued = tonumber(ARGV[3])
    if tonumber(n) <= tonumber(redis.call('HGET', KEYS[1], 'rserv') or '0') then
      local lower = tonumber(redis.call('HGET', KEYS[1], 'sale_at') or '0') or 0
      local before = redis.call('ZREVRANGEBYSCORE', KEYS[8], '(' .. n, '-inf', 'LIMIT', 0, 1)
      if before[1] and tonumber(before[1]) > lower then lower = tonumber(before[1]) end
      if lower < issued then issued = lower end
      local paid = tonumber(redis.call('HGET', KEYS[9], v) or '')
      if paid and paid >= issued then
        redis.call('SADD', KEYS[5], v)
        done = 1
      end
    end
    -- to the millisecond: the pass's first issue (pexp - pass_s) is compared
    -- with paid_at to tell whether an order was paid after this pass began
    pexp = string.format('%.3f', issued + pass_s)
    redis.call('HSET', KEYS[4], v, pexp)
  end
end
return reply({code = 'ok', phase = phase, number = n, serving = tostring(serving),
              done = tostring(done), pexp = pexp, visitor = v}, true)
"""
)

# tick: KEYS st pend act cnt; ARGV now remaining_stock(-1 = unknown), then the
#   rules (tick_rules): elapsed_cap min_samples max_no_show smoothing_s
#   grace_default exp_default
# -> code (ok | missing), admitted, serving, tail, active, sold_out, no_show_ratio
# admit = min(eff_rate * elapsed + carry, max - (active + pending), tail - serving,
#             stock cap); stock cap = ceil((remaining - pending * exp) / exp), the
#             buyers the sellable stock can still serve once the admitted
#             visitors not yet shopping have their expected share. `last` only
#             moves forward inside the script, so two ticks at once (or out of
#             order) share one elapsed interval: nobody twice.
TICK = """
local st, pend, act, cnt = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])
local elapsed_cap, min_samples = tonumber(ARGV[3]), tonumber(ARGV[4])
local max_no_show, smoothing = tonumber(ARGV[5]), tonumber(ARGV[6])
local phase = redis.call('HGET', st, 'phase')
if not phase then return {'code', 'missing'} end
redis.call('ZREMRANGEBYSCORE', act, '-inf', now)
local grace = tonumber(redis.call('HGET', st, 'grace') or ARGV[7])
local ns = redis.call('ZREMRANGEBYSCORE', pend, '-inf', now - grace)
if ns > 0 then redis.call('HINCRBY', cnt, 'no_show', ns) end
local last = tonumber(redis.call('HGET', st, 'last') or ARGV[1])
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
if elapsed > elapsed_cap then elapsed = elapsed_cap end
if now > last or not redis.call('HGET', st, 'last') then redis.call('HSET', st, 'last', ARGV[1]) end
local tail = tonumber(redis.call('HGET', st, 'tail') or '0')
local serving = tonumber(redis.call('HGET', st, 'serving') or '0')
local active = redis.call('ZCARD', act) + redis.call('ZCARD', pend)
local claimed = tonumber(redis.call('HGET', cnt, 'claimed') or '0')
local noshow = tonumber(redis.call('HGET', cnt, 'no_show') or '0')
local ratio = 0
if claimed + noshow >= min_samples then ratio = noshow / (claimed + noshow) end
if ratio > max_no_show then ratio = max_no_show end
local eff = tonumber(redis.call('HGET', st, 'rate') or '0') / 60 / (1 - ratio)
local want = eff * elapsed + tonumber(redis.call('HGET', st, 'carry') or '0')
local admit = math.floor(want)
local carry = want - admit
local room = tonumber(redis.call('HGET', st, 'max') or '0') - active
if room < admit then admit = room end
if tail - serving < admit then admit = tail - serving end
local remaining = tonumber(ARGV[2])
local per = tonumber(redis.call('HGET', st, 'exp') or ARGV[8])
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
local stopped = phase ~= 'open' or redis.call('HGET', st, 'paused') == '1'
   or redis.call('HGET', st, 'draining') == '1'
   or now < tonumber(redis.call('HGET', st, 'sale_at') or '0')
if stopped then
  admit = 0
  carry = 0
end
if admit < 0 then admit = 0 end
-- The rate the waiting pages compute their wait from (`erate`, admissions a
-- minute): it starts at the configured effective rate and follows what the
-- ticks really admit, smoothed (time constant `smoothing`, 60 s by default)
-- so an ETA never jumps.
-- A tick admitting all it planned moved the line at exactly `eff` (no
-- rounding noise); one held back by the shop or the stock at what it
-- admitted. Only ticks that could admit and left people waiting count: a
-- short queue moves as fast as people arrive, which says nothing about how
-- fast the line moves for those at its end.
if not stopped and elapsed > 0 and tail - serving - admit > 0 then
  local flow = eff * 60
  if admit < math.floor(want) then flow = admit * 60 / elapsed end
  local est = tonumber(redis.call('HGET', st, 'erate') or '') or eff * 60
  est = est + (1 - math.exp(-elapsed / smoothing)) * (flow - est)
  redis.call('HSET', st, 'erate', tostring(est))
end
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
return {'code', 'ok', 'admitted', tostring(admit), 'serving', tostring(serving + admit),
        'tail', tostring(tail), 'active', tostring(active), 'sold_out', tostring(sold_out),
        'no_show_ratio', tostring(ratio)}
"""

# claim: KEYS st act pend done cnt map gone; ARGV visitor number expiry now
# -> "shopping" (already), "claimed" (now), "ended" (paid, or a place the
# visitor left), "expired", "full", "elsewhere" (not the visitor's place: they
# keep another).
# The first use of a pass takes the slot its admission reserved in `pend`;
# a late claim (counted as a no-show meanwhile) needs a free slot, checked
# atomically so concurrent claims never exceed max. A pass counts only for
# the visitor's current number: one place, one pass, per person.
CLAIM = """
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return 'ended' end
local number = tonumber(ARGV[2])
if number <= tonumber(redis.call('HGET', KEYS[7], ARGV[1]) or '0') then return 'ended' end
local n = redis.call('HGET', KEYS[6], ARGV[1])
if n and tonumber(n) ~= number then return 'elsewhere' end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 'shopping' end
if tonumber(ARGV[3]) <= tonumber(ARGV[4]) then return 'expired' end
if redis.call('ZREM', KEYS[3], ARGV[2]) == 0 then
  local max = tonumber(redis.call('HGET', KEYS[1], 'max') or '0')
  if redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) >= max then return 'full' end
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'claimed', 1)
return 'claimed'
"""

# complete: KEYS act done cnt map moved; ARGV visitor. An order placed under
# a handed-over identity (a device's hold paid after its account signed in)
# ends the pass of the visitor who has the place now.
COMPLETE = """
local v = ARGV[1]
if not redis.call('HGET', KEYS[4], v) then v = redis.call('HGET', KEYS[5], v) or v end
redis.call('SADD', KEYS[2], v)
if redis.call('ZREM', KEYS[1], v) == 1 then
  redis.call('HINCRBY', KEYS[3], 'completed', 1)
  return 1
end
return 0
"""

# handover: KEYS st map pre pend act pexp done moved gone; ARGV from to
# The place of `from` (a device) goes to `to` (the account that signed in on
# it). One place per person: if `to` has a place already, the better one is
# kept — a live place beats one whose pass ended (paid), else the lower
# number — and the other is dropped (its reserved admission slot freed, its
# number void). `from` keeps nothing, and `moved` remembers where its place
# went (its token and pass then speak for `to`, see STATUS and selectors).
# -> 'none' (nothing to hand over), 'pre' (pre-queue entry moved),
#    'from' (kept the device's place), 'to' (kept the account's).
HANDOVER = """
local st, map, pre, pend, act, pexp, done, moved, gone =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local from, to = ARGV[1], ARGV[2]
if not redis.call('HGET', st, 'phase') then return 'missing' end
local nf = redis.call('HGET', map, from)
local void = tonumber(redis.call('HGET', gone, to) or '0')
if not nf then
  local score = redis.call('ZSCORE', pre, from)
  if not score then return 'none' end
  redis.call('ZREM', pre, from)
  if not redis.call('HGET', map, to) then redis.call('ZADD', pre, 'NX', score, to) end
  redis.call('HSET', moved, from, to)
  return 'pre'
end
local nt = redis.call('HGET', map, to)
local keep = 'from'
if nt then
  local df = redis.call('SISMEMBER', done, from)
  local dt = redis.call('SISMEMBER', done, to)
  if df ~= dt then
    if df == 1 then keep = 'to' end
  elseif tonumber(nt) <= tonumber(nf) then
    keep = 'to'
  end
end
local kept, dropped = nf, nt
if keep == 'to' then kept, dropped = nt, nf end
if dropped then
  redis.call('ZREM', pend, dropped)
  -- A dropped number below the kept one must not come back through an old
  -- token (STATUS restores earlier signed numbers).
  local d = tonumber(dropped)
  if d < tonumber(kept) and d > void then void = d end
end
if keep == 'from' then
  redis.call('HSET', map, to, nf)
  local e = redis.call('HGET', pexp, from)
  if e then redis.call('HSET', pexp, to, e) else redis.call('HDEL', pexp, to) end
  local shopping = redis.call('ZSCORE', act, from)
  redis.call('ZREM', act, to)
  if shopping then redis.call('ZADD', act, shopping, to) end
  if redis.call('SISMEMBER', done, from) == 1 then redis.call('SADD', done, to)
  else redis.call('SREM', done, to) end
end
redis.call('ZREM', pre, to)
redis.call('HDEL', map, from)
redis.call('HDEL', pexp, from)
redis.call('ZREM', act, from)
redis.call('SREM', done, from)
redis.call('HSET', moved, from, to)
-- the device's own tokens are void from now (its number lives on as `to`'s)
local gf = tonumber(redis.call('HGET', gone, from) or '0')
if tonumber(nf) > gf then redis.call('HSET', gone, from, nf) end
if void > 0 then redis.call('HSET', gone, to, void) end
return keep
"""

# rejoin: KEYS st map done pexp gone cnt act pend; ARGV visitor now
# A visitor whose pass ended (order paid) or ran out joins again at the BACK:
# a new number after everyone already waiting (the tail, exactly as for a
# fresh arrival), never their old one, which becomes void (`gone`) so no
# old token or pass can bring it back. A live place is kept as it is.
# -> code, number: code "n" = number n; "none" = no place yet (a plain
#    join); "closed" (draining); "missing" (state not built).
REJOIN = """
local st, map, done, pexp, gone = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if not redis.call('HGET', st, 'phase') then return {'code', 'missing', 'number', '0'} end
local v = ARGV[1]
local n = redis.call('HGET', map, v)
if not n then return {'code', 'none', 'number', '0'} end
if redis.call('SISMEMBER', done, v) == 0 then
  local e = tonumber(redis.call('HGET', pexp, v) or '0')
  if e == 0 or e > tonumber(ARGV[2]) then return {'code', 'n', 'number', n} end
end
if redis.call('HGET', st, 'draining') == '1' then return {'code', 'closed', 'number', '0'} end
if tonumber(n) > tonumber(redis.call('HGET', gone, v) or '0') then
  redis.call('HSET', gone, v, n)
end
redis.call('SREM', done, v)
redis.call('HDEL', pexp, v)
redis.call('ZREM', KEYS[7], v)
redis.call('ZREM', KEYS[8], n)
local fresh = redis.call('HINCRBY', st, 'tail', 1)
redis.call('HSET', map, v, fresh)
redis.call('HINCRBY', KEYS[6], 'joined', 1)
return {'code', 'n', 'number', tostring(fresh)}
"""

# init: KEYS st cnt adm paid; ARGV json(state fields) json(counters)
# json({time: serving}) json({buyer: paid_at}). Only if absent, so two ticks
# rebuilding at once agree; `adm` and `paid` in the same step, so no status
# call sees a rebuilt room without them.
INIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local st = cjson.decode(ARGV[1])
for k, v in pairs(st) do redis.call('HSET', KEYS[1], k, tostring(v)) end
local c = cjson.decode(ARGV[2])
for k, v in pairs(c) do redis.call('HSET', KEYS[2], k, tostring(v)) end
redis.call('DEL', KEYS[3], KEYS[4])
for k, v in pairs(cjson.decode(ARGV[3] or '{}')) do redis.call('ZADD', KEYS[3], v, k) end
for k, v in pairs(cjson.decode(ARGV[4] or '{}')) do redis.call('HSET', KEYS[4], k, v) end
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
    client: object  # the connection they were registered on (conn() may change)
    join: object
    join_counted: object
    status: object
    status_counted: object
    tick: object
    claim: object
    complete: object
    init: object
    close_pre: object
    reopen_pre: object
    assign: object
    finish: object
    handover: object
    rejoin: object


_scripts: _Scripts | None = None


def scripts() -> _Scripts:
    """The registered scripts (EVALSHA with a transparent reload on NOSCRIPT)."""
    global _scripts
    r = conn()
    if _scripts is None or _scripts.client is not r:
        _scripts = _Scripts(
            client=r,
            join=r.register_script(JOIN),
            join_counted=r.register_script(_COUNTED + JOIN),
            status=r.register_script(STATUS),
            status_counted=r.register_script(_COUNTED + STATUS),
            tick=r.register_script(TICK),
            claim=r.register_script(CLAIM),
            complete=r.register_script(COMPLETE),
            init=r.register_script(INIT),
            close_pre=r.register_script(CLOSE_PRE),
            reopen_pre=r.register_script(REOPEN_PRE),
            assign=r.register_script(ASSIGN),
            finish=r.register_script(FINISH),
            handover=r.register_script(HANDOVER),
            rejoin=r.register_script(REJOIN),
        )
    return _scripts


# The room hash's fields that Python writes with a plain HSET: the room's
# settings copied from Postgres (services._config, by the push and by every
# tick) and the snapshot clock. Scripts only read these (Redis runs a script
# atomically, so an HSET lands wholly before or after it) and compute none of
# them, so this writer cannot undo a script's work. One exception, harmless:
# `seed`, which FINISH writes at the draw and the push writes too, with the
# same value (a room's seed is fixed when the room is created).
SETTINGS_FIELDS = frozenset({"event", "slug", "title", "mode", "guard", "rate", "max", "pass_s",
                             "grace", "thr", "exp", "cap", "paused", "draining", "pq_at",
                             "sale_at", "commitment", "seed", "snap_at"})  # fmt: skip
SERIES_LENGTH = 120  # points of the staff chart kept (one a snapshot)


def settings_write(room_id: int, fields: dict[str, str]) -> None:
    """The one plain write of the room hash, for SETTINGS_FIELDS only."""
    owned = set(fields) - SETTINGS_FIELDS
    if owned:
        raise ValueError(f"only the scripts write {sorted(owned)}")
    conn().hset(keys(room_id)["st"], mapping=fields)


def field(room_id: int, name: str) -> str:
    """One field of the room hash ('' if absent)."""
    return (conn().hget(keys(room_id)["st"], name) or b"").decode()


def exists(room_id: int) -> bool:
    return bool(conn().exists(keys(room_id)["st"]))


def series_push(room_id: int, point: dict) -> None:
    """Add a point to the staff chart (newest first, SERIES_LENGTH kept)."""
    pipe = conn().pipeline(transaction=False)
    pipe.lpush(keys(room_id)["series"], json.dumps(point))
    pipe.ltrim(keys(room_id)["series"], 0, SERIES_LENGTH - 1)
    pipe.execute()


def series(room_id: int) -> list[dict]:
    """The staff chart's points, oldest first."""
    raw = conn().lrange(keys(room_id)["series"], 0, SERIES_LENGTH - 1)
    return [json.loads(x) for x in reversed(raw)]


def k(room_id: int, *names: str) -> list[str]:
    ks = keys(room_id)
    return [ks[name] for name in names]


def counted_supported() -> bool:
    """May join and status count the caller's rate counter in their own script
    (_COUNTED)? Only on the project's own Redis, where the counter lives too;
    a Redis Cluster keeps each room in its own slot."""
    return not settings.QUEUE_REDIS_CLUSTER


@dataclass
class Counter:
    """A caller's fixed-window rate counter to INCR in the same script
    (api.throttling.Window): its key, the limit and the key's expiry in
    seconds. `sent` once a script was sent with it: the caller must not count
    the same request again (on an error after it, or a failed round trip)."""

    key: str
    limit: int
    expiry: int
    sent: bool = False


class CounterExceeded(Exception):
    """The counted script found the caller over their limit and did nothing else."""


def _run(script, counted, *, keys: list[str], args: list, counter: Counter | None) -> dict:
    """JOIN's or STATUS's JSON answer, counted or not."""
    if counter is None:
        return json.loads(script(keys=keys, args=args))
    counter.sent = True
    raw = counted(keys=[*keys, counter.key], args=[*args, counter.limit, counter.expiry])
    out = json.loads(raw)
    if out["code"] == "throttled":
        raise CounterExceeded()
    return out


def join(room_id: int, visitor: str, now: float, counter: Counter | None = None) -> dict[str, str]:
    """JOIN's answer: code, number and the JOIN_FIELDS of the room. With a
    `counter` (counted_supported only), CounterExceeded when over its limit."""
    s = scripts()
    keys = k(room_id, "st", "map", "pre", "cnt", "moved")
    return _run(s.join, s.join_counted, keys=keys, args=[visitor, now], counter=counter)


def rejoin(room_id: int, visitor: str, now: float) -> dict[str, str]:
    """REJOIN's answer: code, number."""
    names = ("st", "map", "done", "pexp", "gone", "cnt", "act", "pend")
    return _named(scripts().rejoin(keys=k(room_id, *names), args=[visitor, now]))


def status(
    room_id: int, visitor: str, token_number: int, now: float, counter: Counter | None = None
) -> dict[str, str]:
    """STATUS's answer: code, phase, number, serving, done, pexp, visitor,
    STATUS_FIELDS. With a `counter`, CounterExceeded when over its limit."""
    s = scripts()
    return _run(
        s.status,
        s.status_counted,
        keys=k(room_id, "st", "map", "pre", "pexp", "done", "moved", "gone", "adm", "paid"),
        args=[visitor, token_number, now, pass_seconds_default()],
        counter=counter,
    )


def tick(room_id: int, now: float, remaining: int) -> dict[str, str]:
    """TICK's answer: code, admitted, serving, tail, active, sold_out, no_show_ratio."""
    out = scripts().tick(
        keys=k(room_id, "st", "pend", "act", "cnt"), args=[now, remaining, *tick_rules()]
    )
    return _named(out)


def claim(room_id: int, visitor: str, number: int, expiry: float, now: float) -> str:
    """CLAIM's outcome by name (see CLAIM)."""
    out = scripts().claim(
        keys=k(room_id, "st", "act", "pend", "done", "cnt", "map", "gone"),
        args=[visitor, number, expiry, now],
    )
    return out.decode()


def complete(room_id: int, visitor: str) -> int:
    keys = k(room_id, "act", "done", "cnt", "map", "moved")
    return int(scripts().complete(keys=keys, args=[visitor]))


def handover(room_id: int, from_visitor: str, to_visitor: str) -> str:
    names = ("st", "map", "pre", "pend", "act", "pexp", "done", "moved", "gone")
    out = scripts().handover(keys=k(room_id, *names), args=[from_visitor, to_visitor])
    return out.decode()


def heir(room_id: int, visitor: str) -> str | None:
    """Who has `visitor`'s place now, if it was handed over (HANDOVER)."""
    value = conn().hget(keys(room_id)["moved"], visitor)
    return value.decode() if value is not None else None


def place(room_id: int, visitor: str) -> tuple[int, bool]:
    """The visitor's number (0 if none) and whether they are in the pre-queue."""
    ks = keys(room_id)
    pipe = conn().pipeline(transaction=False)
    pipe.hget(ks["map"], visitor)
    pipe.zscore(ks["pre"], visitor)
    number, pre = pipe.execute()
    return int(number or 0), pre is not None


def init(
    room_id: int,
    state: dict,
    counters: dict,
    admitted: dict[str, int] | None = None,
    paid: dict[str, str] | None = None,
) -> bool:
    args = [json.dumps(state), json.dumps(counters), json.dumps(admitted or {}),
            json.dumps(paid or {})]  # fmt: skip
    return bool(scripts().init(keys=k(room_id, "st", "cnt", "adm", "paid"), args=args))


def reopen_pre(room_id: int) -> bool:
    return bool(scripts().reopen_pre(keys=k(room_id, "st")))


def close_pre(room_id: int) -> int:
    """CLOSE_PRE: the pre-queue's size, -1 if the room was not in it."""
    return int(scripts().close_pre(keys=k(room_id, "st", "pre")))


def prequeue(room_id: int) -> list[str]:
    """The visitors in the pre-queue (being drawn once CLOSE_PRE has run)."""
    return [v.decode() for v in conn().zrange(keys(room_id)["pre"], 0, -1)]


def assign(room_id: int, numbers: list[tuple[str, int]]) -> None:
    """ASSIGN the drawn numbers (visitor, number), a thousand per call."""
    for start in range(0, len(numbers), 1000):
        args: list = []
        for visitor, n in numbers[start : start + 1000]:
            args += [visitor, n]
        scripts().assign(keys=k(room_id, "map"), args=args)


def finish(room_id: int, seed: str) -> bool:
    """FINISH the draw: the room opens and publishes its seed."""
    return bool(scripts().finish(keys=k(room_id, "st", "pre"), args=[seed]))


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


# KEYS: pw. ARGV: visitor, number, visitor, number, ... -> how many removed.
# Only while the visitor's watched number is still the one told: one who
# rejoined since (a new, higher number) stays watched for the new one.
UNWATCH = r"""
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
"""


def watch(room_id: int, visitor: str, number: int) -> None:
    """Tell the partner when `visitor` (a partner customer) is admitted with `number`."""
    conn().zadd(keys(room_id)["pw"], {visitor: number})


def watched_admitted(room_id: int, serving: int) -> list[tuple[str, int]]:
    """The watched visitors whose number is admitted (at or below `serving`)."""
    rows = conn().zrangebyscore(keys(room_id)["pw"], "-inf", serving, withscores=True)
    return [(visitor.decode(), int(number)) for visitor, number in rows]


def unwatch(room_id: int, told: list[tuple[str, int]]) -> int:
    """Stop watching those told (see UNWATCH)."""
    if not told:
        return 0
    args = [item for visitor, number in told for item in (visitor, number)]
    return int(conn().eval(UNWATCH, 1, keys(room_id)["pw"], *args))
