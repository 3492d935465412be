"""The journal and the queue engine: an append, a command through decide -> journal -> evolve."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from measure import report, timed


def bench_journal(n: int, folder: Path) -> None:
    from kioskd.journal import Journal

    j = Journal(folder / "j.sqlite3", "bench")
    data = {"ticket": "A001", "category": "A", "category_name": "综合受理", "kiosk": "kiosk-1",
            "lane": None, "ahead": 3, "holder": "f" * 24, "day": "2026-11-24"}
    ours = timed(lambda: j.append([("ticket.issued", data)], "2026-11-24T09:00:00.000+08:00"), n)
    db = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY, body TEXT)")
    body = "x" * 300

    def raw():
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t(body) VALUES (?)", (body,))
        db.execute("COMMIT")
    report("journal append, 1 event per durable commit", ours, timed(raw, n))


def bench_queue_ops(n: int, folder: Path) -> None:
    """Durable queue operations (issue, call-next, finish: decide -> journal -> evolve, as the
    hall runs them) per second, beside raw SQLite inserts, one per durable commit, same settings."""
    from datetime import datetime, timedelta

    from kioskd import config
    from kioskd.engine import queue as q
    from kioskd.journal import Journal
    from kioskd.ledger import commit

    cfg = config.load(Path(__file__).resolve().parent.parent / "devices.toml")
    j = Journal(folder / "ops.sqlite3", "bench")
    now = datetime(2026, 11, 24, 9, 0, tzinfo=cfg.hall.tz)
    state = q.initial_state(cfg, now.date().isoformat())
    cmds = [q.IssueTicket("A", "kiosk-1"), q.WindowAction(1, "call-next"),
            q.WindowAction(1, "finish")]
    ops = n * len(cmds)
    t0 = time.perf_counter()
    for i in range(ops):
        at = now + timedelta(milliseconds=i)
        commit(state, j, q.decide(state, cmds[i % 3], at), at)
    ours = ops / (time.perf_counter() - t0)
    db = sqlite3.connect(folder / "raw-ops.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY, body TEXT)")
    body = "x" * 300
    t0 = time.perf_counter()
    for _ in range(ops):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t(body) VALUES (?)", (body,))
        db.execute("COMMIT")
    raw = ops / (time.perf_counter() - t0)
    print(f"{'queue ops one at a time, durable':<44} kioskd {ours:8.0f} ops/s | raw insert "
          f"{raw:8.0f} /s | ratio {ours / raw:5.2f}x | a busy hall needs ~10 ops/s")
    from calls import _calls_hall  # a hall of 20 windows (the boards are not started)

    (folder / "grouped.toml").write_text(_calls_hall(20), encoding="utf-8")
    grouped = asyncio.run(_grouped_ops(config.load(folder / "grouped.toml"), folder, ops))
    print(f"{'queue ops from 20 windows at once, durable':<44} kioskd {grouped:8.0f} ops/s | raw "
          f"insert {raw:8.0f} /s | ratio {grouped / raw:5.2f}x (group commit)")


async def _grouped_ops(cfg, folder: Path, ops: int, windows: int = 20) -> float:
    """The same operations from `windows` clerks at once, each waiting for its row on disk
    before its next, as the hall's `execute` does: the group commit writes them together."""
    from datetime import datetime, timedelta

    from kioskd.engine import queue as q
    from kioskd.journal import Journal
    from kioskd.ledger import stage

    j = Journal(folder / "grouped.sqlite3", "bench")
    now = datetime(2026, 11, 24, 9, 0, tzinfo=cfg.hall.tz)
    state = q.initial_state(cfg, now.date().isoformat())
    done = 0

    async def clerk(w: int) -> None:
        nonlocal done
        cmds = [q.IssueTicket("A"), q.WindowAction(w, "call-next"),
                q.WindowAction(w, "finish")]
        i = 0
        while done < ops:
            at = now + timedelta(milliseconds=done)
            envs = stage(state, j, q.decide(state, cmds[i % 3], at), at)
            i += 1
            done += 1
            await j.durable(envs[-1].seq)

    numbers = [w.number for w in cfg.windows][:windows]
    assert len(numbers) == windows
    t0 = time.perf_counter()
    await asyncio.gather(*(clerk(w) for w in numbers))
    took = time.perf_counter() - t0
    j.close()
    return done / took
