"""Where the reference collector keeps the halls' events: SQLite (a file) or PostgreSQL (a DSN).

Both keep each row once by (hall, seq) and per hall `upto`, the highest seq below which every
row is stored: what central acknowledges. Storing a row and moving `upto` over the run it
completes is one transaction that holds the hall's lock (SQLite: BEGIN IMMEDIATE; PostgreSQL:
the hall's row FOR UPDATE), so two collectors sharing one database cannot both miss the row that
joins their runs.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SQLITE_SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS events (
    hall TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL, prev TEXT NOT NULL, received TEXT NOT NULL,
    PRIMARY KEY (hall, seq)
);
CREATE TABLE IF NOT EXISTS halls (
    hall TEXT PRIMARY KEY, upto INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0,
    online INTEGER, boot INTEGER, seen TEXT
);
"""

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    hall TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL,
    type TEXT NOT NULL, data JSONB NOT NULL, prev TEXT NOT NULL,
    received TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (hall, seq)
);
CREATE TABLE IF NOT EXISTS halls (
    hall TEXT PRIMARY KEY, upto BIGINT NOT NULL DEFAULT 0, acked BIGINT NOT NULL DEFAULT 0,
    online BOOLEAN, boot INTEGER, seen TIMESTAMPTZ
);
"""

# the contiguous run from `upto`: the new acknowledgement
RUN = ("WITH RECURSIVE run(s) AS (SELECT {seq} UNION ALL SELECT s + 1 FROM run "
       "WHERE EXISTS (SELECT 1 FROM events WHERE hall = {hall} AND seq = s + 1)) "
       "SELECT MAX(s) FROM run")


def _row(hall: str, env: dict[str, Any]) -> tuple:
    return (hall, env["seq"], env.get("id", ""), env.get("ts", ""), env.get("type", ""),
            json.dumps(env.get("data"), ensure_ascii=False), env.get("prev", ""))


def open_store(db: str | Path) -> "SqliteStore | PgStore":
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        return PgStore(text)
    return SqliteStore(Path(db))


class _Store:
    """What both stores read alike; `P` is the driver's parameter placeholder."""

    P = "?"
    db: Any

    def store_many(self, rows: list[tuple[str, dict[str, Any]]]) -> int:
        """Store (hall, envelope) rows, each once by (hall, seq), and move each hall's `upto`
        over the run it completes, in one transaction; how many were new."""
        raise NotImplementedError

    def upto(self, hall: str) -> int:
        row = self.db.execute(f"SELECT upto FROM halls WHERE hall = {self.P}", (hall,)).fetchone()
        return row[0] if row else 0

    def seqs(self, hall: str) -> list[int]:
        return [r[0] for r in self.db.execute(
            f"SELECT seq FROM events WHERE hall = {self.P} ORDER BY seq", (hall,))]

    def halls(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT hall FROM halls")]

    def hall_online(self, hall: str) -> tuple[bool | None, int | None]:
        """(online, boot) as central last heard it from `hall`; (None, None) never heard."""
        row = self.db.execute(f"SELECT online, boot FROM halls WHERE hall = {self.P}",
                              (hall,)).fetchone()
        return (None if row is None or row[0] is None else bool(row[0]),
                row[1] if row else None)

    def close(self) -> None:
        self.db.close()


class SqliteStore(_Store):
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.executescript(SQLITE_SCHEMA)
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA busy_timeout = 5000")  # another collector's write in progress

    def store_many(self, rows: list[tuple[str, dict[str, Any]]]) -> int:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            halls = sorted({hall for hall, _ in rows})
            self.db.executemany("INSERT OR IGNORE INTO halls (hall) VALUES (?)",
                                [(h,) for h in halls])
            before = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, "
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))", [_row(h, env) for h, env in rows])
            fresh = self.db.total_changes - before
            for hall in halls:
                (upto,) = self.db.execute("SELECT upto FROM halls WHERE hall = ?",
                                          (hall,)).fetchone()
                new = self.db.execute(RUN.format(seq="?", hall="?"), (upto, hall)).fetchone()[0]
                if new > upto:
                    self.db.execute("UPDATE halls SET upto = ? WHERE hall = ?", (new, hall))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return fresh

    def hall_state(self, hall: str, online: bool, boot: Any) -> None:
        """The hall's retained state; a late will of an older boot is no news (the broker may
        deliver boot 3's will after boot 4's online)."""
        self.db.execute("INSERT OR IGNORE INTO halls (hall) VALUES (?)", (hall,))
        self.db.execute("UPDATE halls SET online = ?, boot = COALESCE(?, boot), "
                        "seen = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE hall = ? "
                        "AND (boot IS NULL OR ? IS NULL OR ? >= boot)",
                        (int(online), boot, hall, boot, boot))



class PgStore(_Store):
    P = "%s"

    def __init__(self, dsn: str):
        import psycopg  # only a city that uses PostgreSQL needs it: pip install 'kioskd[central]'

        self.db = psycopg.connect(dsn, autocommit=True)
        with self.db.transaction():
            # two collectors starting at once on a new database: one creates the tables
            self.db.execute("SELECT pg_advisory_xact_lock(7470)")
            self.db.execute(PG_SCHEMA)

    def store_many(self, rows: list[tuple[str, dict[str, Any]]]) -> int:
        halls = sorted({hall for hall, _ in rows})
        with self.db.transaction():
            self.db.cursor().executemany(
                "INSERT INTO halls (hall) VALUES (%s) ON CONFLICT DO NOTHING",
                [(h,) for h in halls])
            # the halls' rows locked in one order by every collector: two collectors sharing
            # the database wait for each other, never deadlock
            uptos = dict(self.db.execute(
                "SELECT hall, upto FROM halls WHERE hall = ANY(%s) ORDER BY hall FOR UPDATE",
                (halls,)).fetchall())
            cur = self.db.cursor()
            cur.executemany(
                "INSERT INTO events (hall, seq, id, ts, type, data, prev) "
                "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s) ON CONFLICT DO NOTHING",
                [_row(h, env) for h, env in rows])
            fresh = cur.rowcount
            for hall in halls:
                new = self.db.execute(RUN.format(seq="%s::bigint", hall="%s"),
                                      (uptos[hall], hall)).fetchone()[0]
                if new > uptos[hall]:
                    self.db.execute("UPDATE halls SET upto = %s WHERE hall = %s", (new, hall))
        return fresh

    def hall_state(self, hall: str, online: bool, boot: Any) -> None:
        # as SQLite's: an older boot's late will changes nothing
        self.db.execute("INSERT INTO halls (hall, online, boot, seen) VALUES (%s, %s, %s, now()) "
                        "ON CONFLICT (hall) DO UPDATE SET online = EXCLUDED.online, "
                        "boot = COALESCE(EXCLUDED.boot, halls.boot), seen = now() "
                        "WHERE halls.boot IS NULL "
                        "OR EXCLUDED.boot IS NULL OR EXCLUDED.boot >= halls.boot",
                        (hall, online, boot))
