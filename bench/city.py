"""A city: 200 halls (journal and uplink each, in worker processes) into one mosquitto, one or
two `kioskd collect` sharing an MQTT 5 subscription into one PostgreSQL. Central's rows/s and
each row's event -> stored latency, beside PostgreSQL taking the same rows raw."""

from __future__ import annotations

import time
from pathlib import Path


async def bench_city(halls: int, rows: int, folder: Path) -> None:
    from kioskd.sim.broker import Mosquitto
    from kioskd.sim.city import City, percentile
    from kioskd.sim.postgres import new_database, postgres

    with postgres() as server:
        raw = _raw_inserts(new_database(server, "raw"), halls * rows)
        for collectors in (1, 2):
            broker = Mosquitto(folder / f"city-broker-{collectors}")
            await broker.start()
            db = new_database(server, f"city{collectors}")
            city = City(folder / f"city-{collectors}", broker, db, halls, collectors)
            try:
                await city.start()
                t0 = time.perf_counter()
                for _ in range(rows // 10):  # ten rows a hall at a time
                    await city.produce(10)
                await city.settled(600)
                took = time.perf_counter() - t0
                problems = await city.problems()
                lat = city.latencies_ms()
            finally:
                await city.stop()
                await broker.stop()
            n = halls * rows
            print(f"{f'city, {halls} halls, {n} rows, {collectors} collector(s)':<44} central "
                  f"{n / took:8.0f} rows/s | raw PostgreSQL {raw:8.0f} rows/s | ratio "
                  f"{n / took / raw:5.2f}x")
            said = "all stored once, in order" if not problems else "; ".join(problems[:3])
            print(f"{'  ... event -> stored at central':<44} p50 {percentile(lat, 50):8.1f} ms "
                  f"p99 {percentile(lat, 99):8.1f} ms; {said}")


def _raw_inserts(dsn: str, n: int) -> float:
    """The floor: the same number of rows INSERTed by psycopg, one transaction each (as a
    collector stores a row), from one connection; rows/s."""
    import psycopg

    data = '{"device": "load", "type": "test", "state": "ready", "condition": "ok"}'
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CREATE TABLE events (hall TEXT, seq BIGINT, id TEXT, ts TEXT, type TEXT, "
                   "data JSONB, prev TEXT, received TIMESTAMPTZ DEFAULT now(), "
                   "PRIMARY KEY (hall, seq))")
        t0 = time.perf_counter()
        for i in range(n):
            with db.transaction():
                db.execute("INSERT INTO events (hall, seq, id, ts, type, data, prev) VALUES "
                           "(%s, %s, %s, %s, %s, %s::jsonb, %s)",
                           (f"h{i % 200}", i, str(i), "t", "device.state", data, "p"))
        return n / (time.perf_counter() - t0)
