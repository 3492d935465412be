"""A call to its board frame and to its announcement queued: one window, and 100 at once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from measure import report


def _calls_hall(windows: int) -> str:
    """A hall of `windows` windows, each with a BX window board over TCP, and a hall board."""
    lines = ['[hall]', 'id = "bench-hall"', 'name = "压测大厅"', '[uplink]',
             'url = "mqtt://127.0.0.1:1883"', '[voice]', 'output = "wav"',
             '[[category]]', 'code = "A"', 'name = "综合受理"', 'daily_quota = 100000']
    for w in range(1, windows + 1):
        lines += ['[[window]]', f'number = {w}', 'categories = ["A"]']
        lines += ['[[device]]', f'id = "board-w{w}"', 'type = "board.bx"', f'window = {w}',
                  f'url = "tcp://127.0.0.1:{10000 + w}"']  # the twin's port replaces it
    lines += ['[[device]]', 'id = "board-hall"', 'type = "board.bx"', 'hall = true',
              'url = "tcp://127.0.0.1:10000"', 'calls = 5', 'notice = "欢迎"']
    return "\n".join(lines) + "\n"


async def bench_calls(n: int, folder: Path, windows: int = 100) -> None:
    """From a window's call (the engine's command) to its board's frame arriving at the board
    twin (journaled, effect run, BX frame encoded, written, CRC-checked by the twin) and to the
    announcement queued; one window calling alone, then `windows` windows calling at once.
    Beside the raw work: a SQLite commit and the same BX frame written on a TCP socket. The
    speaker is stopped, so espeak-ng's synthesis (seconds a call, tests/hall/test_voice.py) does not
    share the two cores with what is measured."""
    from kioskd import config
    from kioskd.drivers.board import bx
    from kioskd.engine import queue
    from kioskd.sim.hall import SimHall

    path = folder / "calls.toml"
    path.write_text(_calls_hall(windows), encoding="utf-8")
    sim = SimHall(config.load(path), folder / "calls-hall", api_port=0)
    hall = await sim.start()
    try:
        await hall.watch.until(lambda: all(s.state.state == "ready"
                                           for s in hall.supervisors.values()), 30, "ready")
        for t in hall._tasks:
            if t.get_name() == "voice":
                t.cancel()
        queued: dict[int, float] = {}
        real_call = hall.announcer.call

        def call(ticket, window, recall=False):
            queued[window] = time.perf_counter()
            return real_call(ticket, window, recall)
        hall.announcer.call = call
        shown: dict[int, float] = {}
        for w in range(1, windows + 1):
            twin = sim.twin(f"board-w{w}")
            # the moment the twin has decoded the text (CRC checked): not any byte, as a ping's
            twin._shown = (lambda rows, replace, w=w, old=twin._shown:
                           (shown.setdefault(w, time.perf_counter()), old(rows, replace))[1])
        hall_twin = sim.twin("board-hall")

        async def round_of(ws: list[int]) -> tuple[list[float], list[float]]:
            for _ in ws:
                await hall.execute(queue.IssueTicket("A"))
            shown.clear()
            queued.clear()
            t0 = time.perf_counter()
            await asyncio.gather(*(hall.execute(queue.WindowAction(w, "call-next")) for w in ws))
            # each call's execute waited for its board's answer: every text has arrived
            assert len(shown) == len(ws), (len(shown), len(ws))
            for w in ws:
                await hall.execute(queue.WindowAction(w, "skip"))
            return ([(shown[w] - t0) * 1000 for w in ws], [(queued[w] - t0) * 1000 for w in ws])

        board1, voice1 = [], []
        for _ in range(n):
            b, v = await round_of([1])
            board1 += b
            voice1 += v
        frame = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text("A001 请到1号窗口".encode("gb2312")))
        raw = await _raw_tcp_frame(n, frame, folder / "raw-calls.sqlite3")
        report("call -> window board frame (1 window)", board1, raw)
        report("call -> announcement queued (1 window)", voice1, raw)
        boardn, voicen = [], []
        hall_frames = len(hall_twin.history)
        rounds = max(n // 20, 3)
        for _ in range(rounds):
            b, v = await round_of(list(range(1, windows + 1)))
            boardn += b
            voicen += v
        raw = await _raw_tcp_frame(rounds, frame, folder / "raw-calls.sqlite3", windows)
        report(f"call -> window board frame ({windows} at once)", boardn, raw)
        report(f"call -> announcement queued ({windows} at once)", voicen, raw)
        print(f"{'':<44} hall board: {len(hall_twin.history) - hall_frames} frames for "
              f"{rounds * windows * 2} queue changes ({rounds} bursts of {windows} calls and "
              f"{windows} skips), coalesced")
    finally:
        await sim.stop()


async def _raw_tcp_frame(n: int, frame: bytes, db: Path, burst: int = 1) -> list[float]:
    """The floor of a call: one SQLite row committed (WAL, synchronous=FULL, as the journal)
    and one BX frame written on asyncio streams to a peer that reads it whole; `burst` of them
    back to back, each timed from the burst's start."""
    got: asyncio.Queue = asyncio.Queue()

    async def peer(reader, writer):
        try:
            while await reader.readexactly(len(frame)):
                got.put_nowait(time.perf_counter())
        except asyncio.IncompleteReadError:
            writer.close()  # the bench is done with it

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS e (seq INTEGER PRIMARY KEY, data TEXT)")
    out = []
    for _ in range(n):
        t = time.perf_counter()
        for _ in range(burst):
            conn.execute("INSERT INTO e (data) VALUES (?)", ('{"ticket": "A001", "window": 1}',))
            conn.commit()
            writer.write(frame)
            await writer.drain()
        for _ in range(burst):
            out.append((await got.get() - t) * 1000)
    conn.close()
    writer.close()
    server.close()
    return out
