"""A busy hall's day on the hall's simulated clock (kioskd.sim.day): every citizen's ticket
printed once, every served citizen asked and rated once, every row at central, open files flat;
boards unplugged and back, skips and transfers on the way. The figures are bench/day.py's."""

from __future__ import annotations

import pytest

from kioskd.sim.day import Plan, run_day
from support.helpers import REPO


@pytest.mark.timeout(3600)
async def test_a_busy_day_loses_nothing_and_ends_with_every_citizen_served(
        tmp_path, full, record_property):
    plan = Plan(windows=100, kiosks=20, tickets=10_000) if full else \
        Plan(windows=12, kiosks=4, tickets=150, faults=2)
    record_property("counts", "12 windows, 4 kiosks, 150 tickets / 100 windows, 20 kiosks, "
                              "10,000 tickets")
    report, problems = await run_day(tmp_path, plan, (REPO / "devices.toml").read_text())
    assert problems == []
    assert report.issued == plan.tickets
    assert report.rated == report.served >= plan.tickets - report.skipped
    # every citizen served, or let go by the skip rules (void, or skipped and not back by
    # closing: a skipped ticket returns after its category's next calls, and at closing there
    # are none)
    assert report.served + report.gone == plan.tickets
    assert report.faults == plan.faults
