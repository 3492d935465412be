"""Benchmarks: kioskd's figure beside the raw library doing the same work, and the ratio.

Run: make bench   (or .venv/bin/python bench/run.py [--n N]). Compare ratios from one run;
absolute figures on these machines are noisy (shared/baselines.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from calls import bench_calls
from city import bench_city
from day import bench_day
from devices import (bench_camera, bench_card_event, bench_rating, bench_sam_read, bench_ticket,
                     bench_usb_read)
from measure import report
from store import bench_journal, bench_queue_ops
from uplink import bench_backlog, bench_backlog_memory
from zone import bench_card_to_relay, bench_social_card


async def _pages(n: int, folder: Path) -> None:
    from pages import bench_pages  # bench/pages.py: Chromium, when installed

    await bench_pages(n, folder, report)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--backlog", type=int, default=20_000, help="rows replayed after an outage")
    ap.add_argument("--halls", type=int, default=200, help="halls of the city")
    ap.add_argument("--tickets", type=int, default=10_000, help="tickets of the busy day")
    ap.add_argument("--only", help="run only the benchmarks whose name contains this")
    args = ap.parse_args()
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        print(f"kioskd benchmarks, n={args.n}, python {sys.version.split()[0]}")
        n = args.n
        runs = {
            "journal": lambda: bench_journal(n, folder),
            "queue": lambda: bench_queue_ops(n, folder),
            "ticket": lambda: bench_ticket(n),
            "sam": lambda: asyncio.run(bench_sam_read(min(n, 300), folder)),
            "usb": lambda: asyncio.run(bench_usb_read(min(n, 300), folder)),
            "card": lambda: asyncio.run(bench_card_event(min(n, 200), folder)),
            "camera": lambda: bench_camera(min(n, 100)),
            "rating": lambda: asyncio.run(bench_rating(min(n, 100), folder)),
            "calls": lambda: asyncio.run(bench_calls(min(n, 200), folder)),
            "backlog": lambda: asyncio.run(bench_backlog(args.backlog, folder)),
            "memory": lambda: bench_backlog_memory(100_000, folder),
            "pages": lambda: asyncio.run(_pages(min(n, 100), folder)),
            "day": lambda: asyncio.run(bench_day(folder, tickets=args.tickets)),
            "city": lambda: asyncio.run(bench_city(args.halls, 50, folder)),
            "zone-relay": lambda: asyncio.run(bench_card_to_relay(min(n, 50), folder)),
            "social-card": lambda: asyncio.run(bench_social_card(min(n, 50), folder)),
        }
        for name, run in runs.items():
            if not args.only or args.only in name:
                run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
