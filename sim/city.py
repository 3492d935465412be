"""A city for the bench and the tests: many halls into one broker, and collectors sharing one
MQTT 5 subscription into one database.

Each hall is light: its journal and its uplink, the parts that reach central, with no devices
and no queue (a city's load is rows, whatever made them). The collectors are `kioskd collect`
processes, as a city runs them, so one can be SIGKILLed and started again (as systemd's
Restart= would) with its broker session kept.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from kioskd.config import UplinkConfig
from kioskd.journal import Journal
from kioskd.uplink.mqtt import Uplink
from kioskd.watch import Watch

GROUP = "city"
HALLS_PER_WORKER = 50


@dataclass
class CityHall:
    id: str
    journal: Journal
    uplink: Uplink


class City:
    def __init__(self, folder: Path, broker, db: str, halls: int, collectors: int = 2):
        self.folder = Path(folder)
        self.broker = broker  # a started kioskd.sim.broker.Mosquitto
        self.db = db  # the collectors' database: a SQLite file or a PostgreSQL DSN
        self.count = halls
        self.keys = self.folder / "keys"  # central's copy of each hall's command key
        self.workers: list[asyncio.subprocess.Process] = []
        self.collectors: list[asyncio.subprocess.Process | None] = [None] * collectors

    # --- the collectors --------------------------------------------------------------------
    async def start_collector(self, i: int, timeout: float = 30.0) -> None:
        """`kioskd collect` number i (its client id is kept across restarts: its session, and
        the rows the broker queued in it, are waiting); returns once it is subscribed."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kioskd", "collect", "--broker", self.broker.url, "--db",
            self.db, "--group", GROUP, "--keys", str(self.keys), "--client-id", f"collector-{i}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self.collectors[i] = proc
        seen = []
        async with asyncio.timeout(timeout):
            while line := await proc.stderr.readline():
                seen.append(line.decode(errors="replace"))
                if "collector: subscribed" in seen[-1]:
                    break
            else:
                raise RuntimeError("kioskd collect ended:\n" + "".join(seen))
        asyncio.get_running_loop().create_task(self._drain(proc))

    @staticmethod
    async def _drain(proc) -> None:
        while await proc.stderr.readline():  # its pipe kept drained; its lines are not ours
            pass

    async def kill_collector(self, i: int) -> None:
        proc = self.collectors[i]
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    async def restart_broker(self) -> None:
        """The operator restarts it: SIGTERM (sessions saved), and it starts on the same port."""
        self.broker.proc.terminate()
        await self.broker.proc.wait()
        await self.broker.stop()
        await self.broker.start()

    # --- the halls ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.keys.mkdir(parents=True, exist_ok=True)
        for i in range(len(self.collectors)):
            await self.start_collector(i)
        first = 1
        while first <= self.count:
            n = min(HALLS_PER_WORKER, self.count - first + 1)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kioskd.sim.city", str(self.folder), self.broker.url,
                str(first), str(n), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE)
            self.workers.append(proc)
            first += n
        await self._all({"op": "start"})

    async def _ask(self, proc, msg: dict) -> dict:
        proc.stdin.write(json.dumps(msg).encode() + b"\n")
        await proc.stdin.drain()
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"a city worker ended (exit {await proc.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    async def _all(self, msg: dict) -> list[dict]:
        return await asyncio.gather(*(self._ask(p, msg) for p in self.workers))

    async def produce(self, rows: int, ts: str | None = None) -> None:
        """`rows` more rows in every hall (one commit each, as a hall's events are), stamped
        `ts` (a test's fixed clock) or the time each is written (the bench's latencies)."""
        await self._all({"op": "produce", "rows": rows, "ts": ts})

    async def settled(self, timeout: float) -> None:
        """Until central acknowledged every row of every hall."""
        await self._all({"op": "settled", "timeout": timeout})

    # --- what central holds --------------------------------------------------------------------
    async def problems(self) -> list[str]:
        """Each hall's rows at central against its journal: every row once, at its seq, the
        same row (its id and its chain link), so in the hall's order. [] when all is well."""
        return [p for a in await self._all({"op": "problems", "db": self.db})
                for p in a["problems"]]

    async def last_seqs(self) -> list[int]:
        return [s for a in await self._all({"op": "last"}) for s in a["last"]]

    def latencies_ms(self) -> list[float]:
        """Event (the hall's ts) to stored at central (the row's `received`), per row:
        PostgreSQL only, whose `received` has the microseconds."""
        from kioskd.central.store import open_store

        store = open_store(self.db)
        try:
            return [float(r[0]) for r in store.db.execute(
                "SELECT EXTRACT(EPOCH FROM received - ts::timestamptz) * 1000 FROM events "
                "WHERE hall LIKE 'city-%'")]
        finally:
            store.close()

    async def stop(self) -> None:
        for proc in self.workers:
            if proc.returncode is None:
                try:
                    await self._ask(proc, {"op": "stop"})
                except (RuntimeError, ConnectionError):
                    pass
                proc.stdin.close()
                await proc.wait()
        for proc in self.collectors:
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGINT)  # `kioskd collect` stops on Ctrl-C
                try:
                    async with asyncio.timeout(10):
                        await proc.wait()
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


def percentile(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100)[int(p) - 1] if len(xs) > 1 else (xs or [0.0])[0]


class Halls:
    """A worker's halls, in their own process: paho's network loop uses select(), which takes
    no descriptor above 1023, and a hall holds about ten (its journal's two connections with
    their WAL files, paho's socket and socket pair); 50 a process also spreads them on the
    cores."""

    def __init__(self, folder: Path, broker: str, first: int, count: int):
        u = urlsplit(broker)
        self.cfg = UplinkConfig(broker, u.hostname or "127.0.0.1", u.port or 1883)
        self.folder, self.keys = folder, folder / "keys"
        self.ids = [f"city-{n:03d}" for n in range(first, first + count)]
        self.halls: list[CityHall] = []
        self.watch = Watch()
        self._caught_up: set[str] = set()

    async def start(self) -> None:
        for hall in self.ids:
            key = secrets.token_bytes(32)
            (self.keys / f"{hall}.key").write_text(key.hex())
            journal = Journal(self.folder / hall / "journal.sqlite3", hall)
            up = Uplink(self.cfg, hall, journal, self._changed(len(self.halls)), ack_key=key)
            self.halls.append(CityHall(hall, journal, up))
        for h in self.halls:
            await h.uplink.start()

    def _changed(self, i: int):
        def changed() -> None:
            h = self.halls[i]
            # central's last ack, not a query: 50 halls' acks arrive many times a second
            if h.uplink.central_upto >= h.journal.last_seq:
                self._caught_up.add(h.id)
            self.watch.changed()
        return changed

    async def produce(self, rows: int, ts: str | None) -> None:
        data = {"device": "load", "type": "test", "state": "ready", "condition": "ok"}
        for h in self.halls:
            self._caught_up.discard(h.id)
            for i in range(rows):
                h.journal.append([("device.state", {**data, "detail": str(i)})],
                                 ts or datetime.now().astimezone().isoformat(
                                     timespec="milliseconds"))
            h.uplink.notify()
            await asyncio.sleep(0)  # the uplinks send meanwhile, as a hall's loop would

    async def settled(self, timeout: float) -> None:
        for h in self.halls:
            if h.uplink.central_upto >= h.journal.last_seq:
                self._caught_up.add(h.id)
        try:
            await self.watch.until(lambda: len(self._caught_up) == len(self.halls), timeout)
        except TimeoutError:
            behind = [h.id for h in self.halls if h.id not in self._caught_up]
            raise TimeoutError(f"not within {timeout} s: central has not acknowledged all of "
                               f"{len(behind)} halls: {', '.join(behind[:5])}") from None

    def problems(self, db: str) -> list[str]:
        from kioskd.central.store import open_store

        store = open_store(db)
        out = []
        try:
            for h in self.halls:
                theirs = [tuple(r) for r in store.db.execute(
                    f"SELECT seq, id, prev FROM events WHERE hall = {store.P} ORDER BY seq",
                    (h.id,))]
                ours = [(e.seq, e.id, e.prev) for e in h.journal.read(limit=10**9)]
                if theirs != ours:
                    missing = len({r[0] for r in ours} - {r[0] for r in theirs})
                    out.append(f"{h.id}: central has {len(theirs)} rows, the hall "
                               f"{len(ours)}; {missing} missing")
                elif store.upto(h.id) != h.journal.last_seq:
                    out.append(f"{h.id}: central's ack {store.upto(h.id)}, the hall's last "
                               f"{h.journal.last_seq}")
        finally:
            store.close()
        return out

    async def stop(self) -> None:
        for h in self.halls:
            await h.uplink.stop()
            h.journal.close()


async def _serve(halls: Halls) -> None:
    """One JSON line in (an op), one line out (its answer), until stop or end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            msg = json.loads(line)
            op, answer = msg["op"], {}
            try:
                if op == "start":
                    await halls.start()
                elif op == "produce":
                    await halls.produce(msg["rows"], msg["ts"])
                elif op == "settled":
                    await halls.settled(msg["timeout"])
                elif op == "problems":
                    answer["problems"] = halls.problems(msg["db"])
                elif op == "last":
                    answer["last"] = [h.journal.last_seq for h in halls.halls]
                elif op == "stop":
                    break
            except Exception as exc:  # the parent raises it, with its words
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)
    finally:
        await halls.stop()
        print(json.dumps({}), flush=True)


if __name__ == "__main__":
    folder, broker, first, count = sys.argv[1:5]
    asyncio.run(_serve(Halls(Path(folder), broker, int(first), int(count))))
