"""Power lost mid-commit, on a storage layer that drops what was not synced
(tests/support/powercut.py): the journal's own schema and hash chain, written in group commits
as the journal's writer does, in WAL with synchronous=FULL. Every commit that returned is there
after the cut, the chain is whole and the file is sound; with synchronous=NORMAL (WAL's usual
setting, no sync at commit) the same cuts lose acknowledged rows, which shows the cut bites."""

from __future__ import annotations

import random

import pytest

from kioskd.journal import GENESIS, SCHEMA, Journal, row_hash

apsw = pytest.importorskip("apsw", reason="pip install apsw (in the dev extra)")
from support.powercut import CutVFS, Power, PowerLost  # noqa: E402

HALL = "power-hall"


def write_until_the_power_goes(path, vfs: str, sync: str, rng: random.Random) -> int:
    """Group commits of 1-20 rows until the power goes; the last seq whose COMMIT returned."""
    acked = seq = 0
    prev = GENESIS
    db = apsw.Connection(str(path), vfs=vfs)
    try:
        # no -shm file: APSW's Python files do not map shared memory; one connection, as the
        # journal's writer is, keeps the WAL index in its heap instead
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={sync}")
        db.execute("PRAGMA wal_autocheckpoint=20")  # checkpoints often: the db file cut too
        db.execute(SCHEMA)
        while True:
            rows = []
            for _ in range(rng.randint(1, 20)):
                seq += 1
                data = f'{{"detail":"{rng.random()}","device":"load"}}'
                id_, ts = f"id-{seq}", "2026-12-01T09:00:00.000+08:00"
                h = row_hash(HALL, seq, id_, ts, "device.state", data, prev)
                rows.append((seq, id_, ts, "device.state", data, prev, h))
                prev = h
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO journal (seq, id, ts, type, data, prev, hash) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
            acked = seq  # answered: the hall would now act on these rows
    except (apsw.Error, PowerLost):
        pass
    finally:
        db.close(True)  # True: what the dead disk answers is ignored
    return acked


def cut_and_recover(tmp_path, n: int, sync: str, seed: int) -> tuple[int, int, bool]:
    """One run: written until the power goes at a random write, the unsynced part of the
    cache kept at random, the journal opened again by kioskd. (acknowledged, recovered seq,
    chain and file sound)."""
    rng = random.Random(seed)
    power = Power(rng, cut_after=rng.randint(5, 400))
    vfs = CutVFS(f"cut-{sync}-{n}", power)
    path = tmp_path / f"{sync}-{n}" / "journal.sqlite3"
    path.parent.mkdir()
    try:
        acked = write_until_the_power_goes(path, vfs.name, sync, rng)
        power.cut()
    finally:
        vfs.unregister()
    j = Journal(path, HALL)  # the box boots: SQLite replays the WAL's committed frames
    try:
        sound = (j.verify() is None and
                 j._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
        return acked, j.last_seq, sound
    finally:
        j.close()


@pytest.mark.timeout(900)
def test_power_lost_mid_commit_loses_no_answered_row(tmp_path, full, record_property):
    runs = (60, 1000)[full]
    record_property("counts", "60 / 1,000 power cuts")
    for n in range(runs):
        acked, recovered, sound = cut_and_recover(tmp_path, n, "FULL", 20261206 + n)
        assert sound, f"run {n}: the chain or the file is broken after the cut"
        assert recovered >= acked, f"run {n}: {acked} rows answered, {recovered} after the cut"


def test_without_a_sync_at_commit_the_same_cuts_lose_answered_rows(tmp_path):
    lost = 0
    for n in range(30):
        acked, recovered, sound = cut_and_recover(tmp_path, n, "NORMAL", 20261206 + n)
        assert sound  # WAL keeps the file sound; what it does not keep is the last commits
        lost += recovered < acked
    assert lost > 0
