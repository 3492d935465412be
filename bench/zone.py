"""The 24-hour zone and the social-security card, end to end through a simulated hall:
a card put in the PC/SC reader (pcscd + vpcd, the card twin) to the holder's masked name at the
kiosk, beside pyscard doing the same APDUs on the same stack; and an ID card at the zone's
reader to the door's relay pulsed, beside pymodbus writing that coil on the same board."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path

from measure import report

ZONE = """
[[zone]]
id = "bench"

[[device]]
id = "bench-reader"
type = "idcard.sam"
zone = "bench"
url = "serial:///dev/kioskd/bench-reader?baud=115200"
poll_ms = 50

[[device]]
id = "bench-door"
type = "gate.modbus"
zone = "bench"
url = "tcp://127.0.0.1:502"
poll_ms = 50
pulse_ms = 50
sim = { close_ms = 100 }
"""
CARD_READER = """
[[device]]
id = "bench-card"
type = "cardreader.pcsc"
kiosk = "kiosk-1"
url = "pcsc://{reader}"
sim = {{ vpcd_port = {port} }}
"""


async def _hall(folder: Path, extra: str):
    from kioskd import config
    from kioskd.sim.broker import make_broker
    from kioskd.sim.hall import SimHall

    repo = Path(__file__).resolve().parent.parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "devices.toml"
    path.write_text((repo / "devices.toml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    broker = make_broker("auto", folder / "broker")
    await broker.start()
    sim = SimHall(config.load(path), folder / "hall", broker=broker, api_port=0)
    await sim.start()
    return sim, broker


async def bench_card_to_relay(n: int, folder: Path) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    from kioskd.sim.idcard import make_card

    sim, broker = await _hall(folder / "relay", ZONE)
    try:
        reader, door = sim.twin("bench-reader"), sim.twin("bench-door")
        ours = []
        for i in range(n):
            pulses = len(door.pulses)
            reader.place(make_card("张三", date(1970, 1, 1), serial=i % 900 + 1))
            t = time.perf_counter()
            await door.watch.until(lambda: len(door.pulses) > pulses, 5, "the relay pulsed")
            ours.append((time.perf_counter() - t) * 1000)
            await reader.lifted()
            await door.watch.until(lambda: not door.is_open, 5, "the door shut again")
        client = AsyncModbusTcpClient("127.0.0.1", port=door.tcp_port)
        await client.connect()
        raw = []
        for _ in range(n):
            t = time.perf_counter()
            await client.write_coil(door.coil, True, device_id=door.unit)
            raw.append((time.perf_counter() - t) * 1000)
            await client.write_coil(door.coil, False, device_id=door.unit)
        client.close()
    finally:
        await sim.stop()
        await broker.stop()
    report("ID card on the zone reader -> relay on", ours, raw)
    print("  (kioskd's figure holds the reader's poll, 50 ms here, and the card's read; the raw "
          "one is one coil write)")


async def bench_social_card(n: int, folder: Path) -> None:
    from kioskd.sim import pcscd
    from kioskd.sim.cardreader import SimCard

    why = pcscd.missing()
    if why:
        print(f"social-security card: skipped ({why})")
        return
    (folder / "pcsc").mkdir(parents=True, exist_ok=True)
    proc, port = pcscd.start(folder / "pcsc")
    try:
        sim, broker = await _hall(folder / "card",
                                  CARD_READER.format(reader=pcscd.READER, port=port))
        try:
            hall, twin = sim.hall, sim.twin("bench-card")
            await hall.watch.until(lambda: hall.supervisors["bench-card"].state.state == "ready",
                                   15, "the reader open")
            ours = []
            for _ in range(n):
                hall.kiosk_cards.pop("kiosk-1", None)
                t = time.perf_counter()
                await twin.insert(SimCard())
                await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 10, "card read")
                ours.append((time.perf_counter() - t) * 1000)
                await twin.remove()
            raw = await asyncio.to_thread(_raw_reads, n, twin, asyncio.get_running_loop())
        finally:
            await sim.stop()
            await broker.stop()
    finally:
        pcscd.stop(proc)
    report("social card in -> masked name at the kiosk", ours, raw)


def _raw_reads(n: int, twin, loop) -> list[float]:
    """pyscard alone: wait for the card, connect, the same SELECTs and READ RECORDs."""
    from smartcard import scard

    from kioskd.drivers.cardreader import ssc
    from kioskd.sim import pcscd
    from kioskd.sim.cardreader import SimCard

    rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    out = []
    try:
        for _ in range(n):
            state = scard.SCARD_STATE_EMPTY
            t = time.perf_counter()
            asyncio.run_coroutine_threadsafe(twin.insert(SimCard()), loop).result(5)
            while not state & scard.SCARD_STATE_PRESENT:
                rc, states = scard.SCardGetStatusChange(ctx, 5000, [(pcscd.READER, state)])
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
            rc, card, proto = scard.SCardConnect(ctx, pcscd.READER, scard.SCARD_SHARE_SHARED,
                                                 scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
            for apdu in (ssc.SELECT_SSSE, ssc.SELECT_EF05, *(ssc.read_record(r) for r in (
                    ssc.REC_CARD_ID, ssc.REC_VALID_TO, ssc.REC_CARD_NO)), ssc.SELECT_EF06,
                    *(ssc.read_record(r) for r in (ssc.REC_ID_NUMBER, ssc.REC_NAME,
                                                    ssc.REC_SEX, ssc.REC_BIRTH))):
                scard.SCardTransmit(card, proto, list(apdu))
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
            out.append((time.perf_counter() - t) * 1000)
            asyncio.run_coroutine_threadsafe(twin.remove(), loop).result(5)
            while state & scard.SCARD_STATE_PRESENT:
                rc, states = scard.SCardGetStatusChange(ctx, 5000, [(pcscd.READER, state)])
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
    finally:
        scard.SCardReleaseContext(ctx)
    return out
