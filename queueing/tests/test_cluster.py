"""The waiting room on a Redis Cluster of three local masters (issue 20).

Debian's redis-server is started here in cluster mode on free ports, the
cluster is formed with redis-cli, and settings.QUEUE_REDIS_CLUSTER (what the
QUEUE_REDIS_CLUSTER environment variable sets) points the waiting rooms at
it. Rooms land on different masters by their `{room id}` hash tag; every
script of a room runs on the master that owns its slot. Skipped, with the
reason, when redis-server or redis-cli is not installed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.utils import timezone

from queueing import selectors, services, state
from queueing.tests.factories import make_room

pytestmark = pytest.mark.django_db

MASTERS = 3


def _free_ports(n: int) -> list[int]:
    # Cluster nodes also listen on port + 10000 (the bus): keep both free.
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000 and all(abs(port - p) > 1 for p in ports):
            ports.append(port)
    return ports


@pytest.fixture(scope="module")
def cluster_nodes(tmp_path_factory):
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        pytest.skip("redis-server/redis-cli not installed: no local Redis Cluster to test on")
    base: Path = tmp_path_factory.mktemp("redis-cluster")
    ports = _free_ports(MASTERS)
    procs = []
    try:
        for port in ports:
            work = base / str(port)
            work.mkdir()
            procs.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(work / "nodes.conf"), "--dir", str(work),
                 "--save", "", "--appendonly", "no", "--protected-mode", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        for port in ports:
            _wait(lambda port=port: _ping(cli, port), what=f"redis-server on {port}")
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        _wait(lambda: all(_cluster_ok(cli, p) for p in ports), what="cluster_state:ok")
        yield [f"127.0.0.1:{p}" for p in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _ping(cli: str, port: int) -> bool:
    out = subprocess.run([cli, "-p", str(port), "ping"], capture_output=True, text=True)
    return out.stdout.strip() == "PONG"


def _cluster_ok(cli: str, port: int) -> bool:
    out = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True)
    return "cluster_state:ok" in out.stdout


def _wait(check, *, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def on_cluster(cluster_nodes, settings):
    settings.QUEUE_REDIS_CLUSTER = cluster_nodes
    client = state.conn()
    client.flushall(target_nodes=client.ALL_NODES)
    selectors._memo.clear()
    yield client
    client.flushall(target_nodes=client.ALL_NODES)


def _rooms_on_every_master(client, how_many: int = 9):
    """Rooms (with their events) until every master owns at least one."""
    rooms, owners = [], set()
    while len(rooms) < how_many or len(owners) < MASTERS:
        assert len(rooms) < 60, "room ids never reached every master"
        room = make_room(admission_rate_per_minute=600, max_active_shoppers=50)
        rooms.append(room)
        owners.add(client.get_node_from_key(state.keys(room.pk)["st"]).name)
    return rooms, owners


def test_join_tick_status_and_pass_work_with_rooms_spread_over_the_masters(on_cluster):
    client = on_cluster
    rooms, owners = _rooms_on_every_master(client)
    assert len(owners) == MASTERS
    for room in rooms:
        # All of a room's keys are in one slot: one master answers its scripts.
        assert len({client.keyslot(key) for key in state.keys(room.pk).values()}) == 1
        joined = [
            services.queue_join(room_id=room.pk, visitor=f"d:{room.pk}:{i}") for i in range(4)
        ]
        assert [j.number for j in joined] == [1, 2, 3, 4]
        # A second join keeps the place.
        assert services.queue_join(room_id=room.pk, visitor=f"d:{room.pk}:2").number == 3
        state.conn().hset(state.keys(room.pk)["st"], "last", time.time() - 5)
        services.room_tick(room=room)
        status = selectors.queue_status(token=joined[0].token)
        assert status["state"] == "admitted" and status["pass"]
        assert selectors.pass_validate(
            event_id=room.event_id, buyer_key=f"d:{room.pk}:0", token=status["pass"]
        )
        assert selectors.room_public_state(room_id=room.pk)["serving"] >= 1
    # Each master holds the keys of its own rooms only.
    per_master = {node.name: client.dbsize(target_nodes=node) for node in client.get_primaries()}
    assert all(count > 0 for count in per_master.values()), per_master


def test_the_draw_at_opening_runs_on_the_cluster(on_cluster):
    now = timezone.now()
    room = make_room(
        prequeue_opens_at=now - dt.timedelta(minutes=10),
        sale_opens_at=now + dt.timedelta(minutes=20),
        admission_rate_per_minute=60,
        max_active_shoppers=100,
    )
    early = {f"d:{i}": services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(12)}
    assert all(j.number == 0 for j in early.values())
    services.room_tick(room=room, now=room.sale_opens_at.timestamp() + 1)
    numbers = sorted(selectors.queue_status(token=j.token)["number"] for j in early.values())
    assert numbers == list(range(1, 13))
    assert services.queue_join(room_id=room.pk, visitor="d:late").number == 13


def test_a_room_is_rebuilt_from_postgres_after_its_master_loses_everything(on_cluster):
    client = on_cluster
    rooms, _ = _rooms_on_every_master(client, how_many=3)
    tokens = {}
    for room in rooms:
        tokens[room.pk] = [
            services.queue_join(room_id=room.pk, visitor=f"v:{room.pk}:{i}") for i in range(3)
        ]
        state.conn().hset(state.keys(room.pk)["st"], "last", time.time() - 5)
        services.room_tick(room=room)  # admits and takes the snapshot
    served = {room.pk: selectors.room_public_state(room_id=room.pk)["serving"] for room in rooms}

    client.flushall(target_nodes=client.ALL_NODES)
    selectors._memo.clear()
    for room in rooms:
        services.room_tick(room=room)  # rebuilds the room from its latest snapshot
        assert state.exists(room.pk)
        assert selectors.room_public_state(room_id=room.pk)["serving"] >= served[room.pk]
        # A visitor who joined before the loss gets a number behind the rebuilt line
        # or their own back; nobody jumps ahead of those already served.
        again = services.queue_join(room_id=room.pk, visitor=f"v:{room.pk}:new")
        assert again.number > served[room.pk]
