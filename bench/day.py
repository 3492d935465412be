"""A busy hall's day (kioskd.sim.day): 100 windows, 20 kiosks, 10,000 tickets on the hall's
simulated clock, as fast as it goes; p50/p99 of each citizen's path, RSS and open files by the
hour, and how much faster than real time it ran."""

from __future__ import annotations

from pathlib import Path


async def bench_day(folder: Path, windows: int = 100, kiosks: int = 20,
                    tickets: int = 10_000) -> None:
    from kioskd.sim.day import Plan, run_day

    demo = (Path(__file__).resolve().parents[1] / "devices.toml").read_text(encoding="utf-8")
    report, problems = await run_day(folder, Plan(windows, kiosks, tickets), demo)
    print(f"a busy day: {windows} windows, {kiosks} kiosks, {tickets:,} tickets")
    print(report.table())
    print("nothing lost, nothing issued twice" if not problems else "; ".join(problems))
