"""A busy hall without devices, for the crash test: commands through the same ledger and group
commit the daemon uses, from several windows at once (each stages its command and waits for
its row on disk, as the hall's `execute` does), one stdout line per durable event
("ack SEQ TYPE TICKET"), until it is killed."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from kioskd import config
from kioskd.engine import queue as q
from kioskd.errors import Refused
from kioskd.journal import Journal
from kioskd.ledger import rebuild, stage

WORKERS = 4  # commands in flight at once: the group commit writes them together


async def main(cfg_path: str, journal_path: str, seed: int, start: str, since: float) -> None:
    """`start`: the hall's time when the test began (a fixed day, ISO), `since` the wall clock
    then: every round goes on from where the last left, on no real date."""
    cfg = config.load(cfg_path)
    journal = Journal(Path(journal_path), cfg.hall.id)
    begun = datetime.fromisoformat(start)
    now = lambda: begun + timedelta(seconds=time.time() - since)  # noqa: E731
    state = rebuild(cfg, journal, now())
    rnd = random.Random(seed)
    windows = [w.number for w in cfg.windows]
    print("ready", journal.last_seq, flush=True)

    async def worker() -> None:
        while True:
            w = rnd.choice(windows)
            cmd = rnd.choice([
                q.IssueTicket(rnd.choice("ABC")), q.IssueTicket(rnd.choice("ABC")),
                q.WindowAction(w, "call-next"), q.WindowAction(w, "finish"),
                q.WindowAction(w, "skip"), q.WindowAction(w, "finish")])
            envs = []
            try:  # decide and stage with no await between, as the hall does
                t = now()
                if q.rollover_due(state, t):
                    envs = stage(state, journal, q.decide(state, q.Tick(), t), t)
                envs += stage(state, journal, q.decide(state, cmd, t), t)
            except Refused:
                pass
            if not envs:
                await asyncio.sleep(0)
                continue
            await journal.durable(envs[-1].seq)
            for env in envs:  # acknowledged only now: on disk
                sys.stdout.write(f"ack {env.seq} {env.type} {env.data.get('ticket', '-')}\n")
            sys.stdout.flush()

    await asyncio.gather(*(worker() for _ in range(WORKERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4],
                     float(sys.argv[5])))
