"""The journal: every domain event, durably, before its effects run; also the MQTT outbox.

One SQLite file in WAL mode with synchronous=FULL: a ticket is on disk before it is printed.
`seq` is gap-free per hall because rows are only ever appended inside one transaction that reads
the last row; each row carries `prev`, the hash of the row before it, so an edited or deleted row
shows up in `verify()`.

Group commit: the hall's commands `stage` their rows (seq and chain given at once, in order)
and wait for `durable(seq)`; one writer thread commits everything staged so far in one
transaction, so a burst of commands (100 windows calling at once) pays a few fsyncs, not one
each. Rows are written in seq order, one writer at a time, on a connection of their own: what
the daemon reads (the uplink, the API) is only ever what is on disk. `append` is the same
commit, done at once on the caller's thread (it writes what was staged before it first).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from kioskd.errors import DiskFull

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    ts        TEXT NOT NULL,
    type      TEXT NOT NULL,
    data      TEXT NOT NULL,
    prev      TEXT NOT NULL,
    hash      TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS journal_undelivered ON journal(seq) WHERE delivered = 0;
CREATE INDEX IF NOT EXISTS journal_ts ON journal(ts);
-- after a retention purge: where the chain now starts (the seq and hash of the last purged row)
CREATE TABLE IF NOT EXISTS anchor (seq INTEGER NOT NULL, hash TEXT NOT NULL);
-- ids of central's commands taken, until they expire: a replay is refused, also after a restart
CREATE TABLE IF NOT EXISTS commands (id TEXT PRIMARY KEY, expires TEXT NOT NULL);
"""

GENESIS = "0" * 64


@dataclass(frozen=True)
class Envelope:
    """One journal row, in the shape the MQTT contract and the WebSocket stream carry."""

    hall: str
    seq: int
    id: str
    ts: str
    type: str
    data: dict[str, Any]
    prev: str

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "hall": self.hall, "seq": self.seq, "id": self.id, "ts": self.ts,
                "type": self.type, "data": self.data, "prev": self.prev}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def row_hash(hall: str, seq: int, id_: str, ts: str, type_: str, data: str, prev: str) -> str:
    text = "\x1f".join([hall, str(seq), id_, ts, type_, data, prev])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Journal:
    def __init__(self, path: Path, hall: str, on_full: Callable[[], bool] | None = None):
        self.path = Path(path)
        self.hall = hall
        # SQLite found the disk full: give up the reserve (True) and the write is tried again
        self.on_full = on_full
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        self._db.executescript(SCHEMA)
        row = self._db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        # the chain's head as staged (_last) and as on disk (_durable)
        self._last_seq, self._last_hash = row if row else (0, GENESIS)
        self._durable_seq, self._durable_hash = self._last_seq, self._last_hash
        self._staged: list[tuple] = []
        self._stage_lock = threading.Lock()  # the staged list, swapped whole by a writer
        self._write_lock = threading.Lock()  # one writer at a time: rows reach disk in seq order
        self._wdb = self._connect()  # the writers' own connection (opened once, here)
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                             timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    @property
    def last_seq(self) -> int:
        """The newest row on disk."""
        return self._durable_seq

    def last_ts(self) -> str | None:
        """The newest row's time: the hall's time never starts below it."""
        row = self._db.execute("SELECT ts FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def _rows(self, events: Iterable[tuple[str, dict[str, Any]]], ts: str
              ) -> tuple[list[tuple], list[Envelope]]:
        """The rows of `events`, after the staged head; the head moves on."""
        out: list[Envelope] = []
        seq, prev = self._last_seq, self._last_hash
        rows = []
        for type_, data in events:
            seq += 1
            id_ = uuid.uuid4().hex
            body = _canonical(data)
            h = row_hash(self.hall, seq, id_, ts, type_, body, prev)
            rows.append((seq, id_, ts, type_, body, prev, h))
            out.append(Envelope(self.hall, seq, id_, ts, type_, data, prev))
            prev = h
        self._last_seq, self._last_hash = seq, prev
        return rows, out

    def stage(self, events: Iterable[tuple[str, dict[str, Any]]], ts: str) -> list[Envelope]:
        """Rows for the next group commit (their seq and chain are theirs now); the caller
        waits for `durable(seq)` before anything follows from them."""
        rows, out = self._rows(events, ts)
        with self._stage_lock:
            self._staged += rows
        return out

    def append(self, events: Iterable[tuple[str, dict[str, Any]]], ts: str) -> list[Envelope]:
        """Append events in one durable transaction, now, after whatever was staged before
        them; all or none are written."""
        rows, out = self._rows(events, ts)
        with self._stage_lock:
            self._staged += rows
        try:
            self._flush(full_ok=True)
        finally:
            self._wake()  # those staged before it: written with it, or dropped with it
        return out

    def _flush(self, full_ok: bool) -> None:
        """Commit everything staged, in one transaction. On a full disk the reserve is given
        up once (`full_ok`: on the loop's thread, where on_full may run) and it is tried again;
        if it still fails, every staged row is dropped (none was answered for) and the head
        goes back to what is on disk."""
        with self._write_lock:
            with self._stage_lock:
                rows, self._staged = self._staged, []
            if not rows:
                return
            try:
                self._write(rows)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL and not full_ok:
                    with self._stage_lock:  # to be tried again on the loop's thread, in order
                        self._staged = rows + self._staged
                    raise
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                    self._drop()
                    raise
                if self.on_full is None or not self.on_full():
                    self._drop()
                    raise DiskFull(f"{self.path}: the disk is full; nothing more can be "
                                   "journaled until space is freed") from None
                try:
                    self._write(rows)  # on the reserve's space
                except sqlite3.OperationalError:
                    self._drop()
                    raise DiskFull(f"{self.path}: the disk is full even on the reserve") from None
            except BaseException:
                self._drop()
                raise
            self._durable_seq, self._durable_hash = rows[-1][0], rows[-1][6]

    def _drop(self) -> None:
        with self._stage_lock:
            self._staged = []
            self._last_seq, self._last_hash = self._durable_seq, self._durable_hash

    def _write(self, rows: list[tuple]) -> None:
        db = self._wdb
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO journal(seq,id,ts,type,data,prev,hash) VALUES (?,?,?,?,?,?,?)", rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    async def durable(self, seq: int) -> None:
        """Wait until row `seq` is on disk (the group commit writing it runs, or is started);
        DiskFull when it could not be written: the caller's state must be rebuilt."""
        if seq <= self._durable_seq:
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flushing(),
                                                                   name="journal-commit")
        await fut

    async def _flushing(self) -> None:
        """Group commits while rows are staged: each takes what came during the one before."""
        try:
            while self._staged:
                try:
                    await asyncio.to_thread(self._flush, False)
                except sqlite3.OperationalError as exc:
                    if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                        raise
                    self._flush(True)  # here, where the reserve may be given up
                self._wake()
        except BaseException as exc:  # every waiter hears it; their commands were not done
            self._wake(exc)
            if not isinstance(exc, Exception):
                raise

    def _wake(self, exc: BaseException | None = None) -> None:
        """Waiters whose row is on disk go on; those whose row was dropped (beyond the head
        after a failed commit) hear why; the rest wait for the next commit."""
        keep = []
        for seq, fut in self._waiters:
            if fut.done():
                continue
            if seq <= self._durable_seq:
                fut.set_result(None)
            elif exc is not None or seq > self._last_seq:
                fut.set_exception(exc if isinstance(exc, Exception) else DiskFull(
                    f"{self.path}: row {seq} was not written (its commit failed)"))
            else:
                keep.append((seq, fut))
        self._waiters = keep

    def _envelope(self, row) -> Envelope:
        seq, id_, ts, type_, data, prev = row
        return Envelope(self.hall, seq, id_, ts, type_, json.loads(data), prev)

    def read(self, after: int = 0, limit: int = 1000, *, undelivered: bool = False) -> list[Envelope]:
        sql = "SELECT seq,id,ts,type,data,prev FROM journal WHERE seq > ?"
        if undelivered:
            sql += " AND delivered = 0"
        rows = self._db.execute(sql + " ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [self._envelope(r) for r in rows]

    def read_wire(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        """Undelivered rows as the uplink sends them: (seq, type, the envelope's JSON), made
        from the stored columns as they are (the data is stored as canonical JSON already:
        not parsed and encoded again for each row of a backlog).

        SQLite makes them in one step, joined with ASCII separators that JSON text never holds
        raw: Python's sqlite3 lets go of the GIL at each row it steps, and a backlog read row
        by row beside paho's busy network thread paid a GIL hand-off per row (the read took
        3-4x its CPU and 10x its time during a replay, bench/)."""
        blob = self._db.execute(
            "SELECT group_concat(seq || char(31) || type || char(31) || '{\"v\":1,\"hall\":' "
            "|| json_quote(?) || ',\"seq\":' || seq || ',\"id\":\"' || id || '\",\"ts\":\"' "
            "|| ts || '\",\"type\":' || json_quote(type) || ',\"data\":' || data "
            "|| ',\"prev\":\"' || prev || '\"}', char(30)) FROM (SELECT * FROM journal "
            "WHERE seq > ? AND delivered = 0 ORDER BY seq LIMIT ?)",
            (self.hall, after, limit)).fetchone()[0]
        if not blob:
            return []
        rows = [(int(seq), type_, wire) for seq, type_, wire in
                (r.split("\x1f", 2) for r in blob.split("\x1e"))]
        # group_concat takes the subquery's rows in its order (SQLite before 3.44 cannot be
        # told so inside the aggregate): checked, not assumed
        if any(a[0] >= b[0] for a, b in zip(rows, rows[1:])):
            rows.sort()
        return rows

    def since_ts(self, ts_prefix: str) -> list[Envelope]:
        """Rows whose timestamp starts at or after `ts_prefix` (e.g. today's local date)."""
        rows = self._db.execute("SELECT seq,id,ts,type,data,prev FROM journal WHERE ts >= ? "
                                "ORDER BY seq", (ts_prefix,)).fetchall()
        return [self._envelope(r) for r in rows]

    def last_of(self, type_: str, before_ts: str) -> Envelope | None:
        row = self._db.execute("SELECT seq,id,ts,type,data,prev FROM journal WHERE type = ? AND "
                               "ts < ? ORDER BY seq DESC LIMIT 1", (type_, before_ts)).fetchone()
        return self._envelope(row) if row else None

    def of_type(self, type_: str, limit: int = 400) -> list[Envelope]:
        """The newest rows of one type, newest first (the manager's list of past days)."""
        rows = self._db.execute("SELECT seq,id,ts,type,data,prev FROM journal WHERE type = ? "
                                "ORDER BY seq DESC LIMIT ?", (type_, limit)).fetchall()
        return [self._envelope(r) for r in rows]

    def count_types(self, from_ts: str, to_ts: str, types: Iterable[str]) -> dict[str, int]:
        """How many rows of each type have from_ts <= ts < to_ts (every type named, 0 too)."""
        types = list(types)
        marks = ",".join("?" * len(types))
        found = dict(self._db.execute(
            f"SELECT type, count(*) FROM journal WHERE ts >= ? AND ts < ? AND type IN ({marks}) "
            "GROUP BY type", (from_ts, to_ts, *types)).fetchall())
        return {t: found.get(t, 0) for t in types}

    def mark_delivered(self, seqs: Iterable[int]) -> None:
        self._db.executemany("UPDATE journal SET delivered = 1 WHERE seq = ?",
                             [(s,) for s in seqs])

    def mark_delivered_upto(self, seq: int) -> None:
        """Central holds every row up to `seq`."""
        self._db.execute("UPDATE journal SET delivered = 1 WHERE seq <= ? AND delivered = 0",
                         (seq,))

    def delivered_upto(self) -> int:
        """Highest seq such that it and every row before it were delivered."""
        row = self._db.execute("SELECT MIN(seq) FROM journal WHERE delivered = 0").fetchone()
        return (row[0] - 1) if row and row[0] is not None else self._durable_seq

    def backlog(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM journal WHERE delivered = 0").fetchone()[0]

    def _anchor(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM anchor").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def purge(self, before_ts: str, keep_from: int | None = None) -> int:
        """Retention: delete rows older than `before_ts` that central already has (never an
        undelivered one, nor `keep_from` and after); the chain then starts at an anchor, the
        last purged row's hash. Returns how many rows went."""
        limit = self.delivered_upto()
        if keep_from is not None:
            limit = min(limit, keep_from - 1)
        upto = self._db.execute("SELECT MAX(seq) FROM journal WHERE ts < ? AND seq <= ?",
                                (before_ts, limit)).fetchone()[0]
        if not upto:
            return 0
        last_hash = self._db.execute("SELECT hash FROM journal WHERE seq = ?", (upto,)).fetchone()[0]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            n = self._db.execute("DELETE FROM journal WHERE seq <= ?", (upto,)).rowcount
            self._db.execute("DELETE FROM anchor")
            self._db.execute("INSERT INTO anchor(seq, hash) VALUES (?, ?)", (upto, last_hash))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the deleted pages leave the WAL too
        return n

    def verify(self) -> int | None:
        """Recompute the hash chain; return the first bad seq, or None when intact."""
        start, prev = self._anchor()
        expect = start + 1
        for seq, id_, ts, type_, data, prev_col, h in self._db.execute(
                "SELECT seq,id,ts,type,data,prev,hash FROM journal ORDER BY seq"):
            if seq != expect or prev_col != prev or row_hash(self.hall, seq, id_, ts, type_, data,
                                                             prev_col) != h:
                return expect if seq != expect else seq
            prev, expect = h, seq + 1
        return None

    def claim_command(self, id_: str, expires_utc: str, now_utc: str) -> bool:
        """Take central's command `id_` once: False when it was taken before (a replay).
        Times are UTC ISO strings, so they compare as text; expired ids are forgotten."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM commands WHERE expires <= ?", (now_utc,))
            fresh = self._db.execute("INSERT OR IGNORE INTO commands VALUES (?, ?)",
                                     (id_, expires_utc)).rowcount == 1
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return fresh

    def close(self) -> None:
        try:  # what was staged and not yet written is written: nothing else will
            self._flush(full_ok=False)
        except (sqlite3.Error, DiskFull):
            pass  # what it held was answered for by no one
        self._wake(DiskFull(f"{self.path}: closed"))
        self._wdb.close()
        self._db.close()
