"""A city: 200 halls (their journals and uplinks) into one mosquitto, two `kioskd collect`
sharing one MQTT 5 subscription into one PostgreSQL; one collector SIGKILLed mid-run and started
again, the broker restarted once. Every row of every hall is stored once, at its seq, the same
row as in the hall's journal. The figures (rows/s, end-to-end p99) are bench/city.py's."""

from __future__ import annotations

import pytest

from kioskd.sim.city import City

TS = "2026-12-01T09:00:00.000+08:00"  # the hall's clock, fixed: nothing here reads the date


@pytest.mark.timeout(600)
async def test_a_city_loses_nothing_when_a_collector_dies_and_the_broker_restarts(
        tmp_path, broker, postgres, full, record_property):
    from kioskd.sim.postgres import new_database

    halls = 200
    counts = (6, 60)  # rows per hall in each of the three phases: make test, --full
    rows = counts[full]
    record_property("counts", f"{halls} halls, {halls * counts[0] * 3:,} / "
                              f"{halls * counts[1] * 3:,} rows, 1 collector killed, 1 broker "
                              "restart")
    city = City(tmp_path / "city", broker, new_database(postgres, "city"), halls)
    try:
        await city.start()
        await city.produce(rows, TS)
        await city.kill_collector(0)  # mid-stream: what it had taken and not stored is gone
        await city.produce(rows, TS)
        await city.start_collector(0)  # systemd starts it again, with its session
        await city.restart_broker()
        await city.produce(rows, TS)
        await city.settled(300)
        assert await city.problems() == []
        assert await city.last_seqs() == [3 * rows] * halls
    finally:
        await city.stop()
