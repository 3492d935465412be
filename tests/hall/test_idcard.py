"""The ID-card reader in depth: the three card types, fingerprint and appended-address reads,
expired cards, a Hypothesis fuzz of the SAM decoder, and the driver against every twin fault."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kioskd.drivers.idcard import sam
from kioskd.engine.queue import IssueTicket
from kioskd.errors import DeviceFault, FrameError, Refused
from kioskd.sim.idcard import DEMO_CARD, make_card
from support.helpers import api


# --- the text block, per card type -------------------------------------------------------------
@pytest.mark.parametrize("card", [
    DEMO_CARD,
    make_card("陈大文", date(1985, 6, 1), region="810000", card_type="hkmotw", gender="女"),
    make_card("SMITH JOHN", date(1979, 2, 3), card_type="foreigner"),
    make_card("约翰", date(1979, 2, 3), card_type="foreigner"),
], ids=["resident", "hkmotw-J", "foreigner-I-english", "foreigner-I-chinese"])
def test_each_card_type_decodes_to_its_fields(card):
    got = sam.decode_text(sam.encode_text(card))
    assert got == card
    assert got.card_type == card.card_type and got.number_valid


def test_hkmotw_has_a_permit_number_and_no_ethnicity():
    card = make_card("陈大文", date(1985, 6, 1), region="810000", card_type="hkmotw", serial=7)
    block = sam.encode_text(card)
    assert block[248:250].decode("utf-16-le") == "J"
    got = sam.decode_text(block)
    assert (got.permit_number, got.ethnicity) == ("H00000007", "")


def card_block(flag: str) -> bytes:
    block = bytearray(sam.encode_text(DEMO_CARD))
    block[248:250] = flag.encode("utf-16-le")
    return bytes(block)


@pytest.mark.parametrize("flag,code", [("Y", "idcard.card_type_unsupported"),
                                       ("Z", "idcard.card_type_unknown"),
                                       ("1", "idcard.card_type_unknown")])
def test_unknown_or_unestablished_card_types_are_reported(flag, code):
    with pytest.raises(DeviceFault) as e:
        sam.decode_text(card_block(flag))
    assert e.value.code == code


@pytest.mark.parametrize("valid_to,expired", [("长期", False), ("20261124", False),
                                              ("20261123", True)])
def test_expiry_on_the_halls_date(valid_to, expired):
    assert dataclasses.replace(DEMO_CARD, valid_to=valid_to).expired_on(date(2026, 11, 24)) is expired


def test_fingerprint_read_layout_and_appended_address():
    text = sam.encode_text(DEMO_CARD)
    data = sam.read_answer(text, bytes(1024), bytes(1024))
    frame = sam.response(0x90, data)
    assert frame[5:7] == bytes.fromhex("090A") and len(frame) == 2321  # protocols.md §1.5
    t, photo, fp = sam.split_read(sam.SamCodec().feed(frame)[0].ok(), fingerprint=True)
    assert (t, len(photo), len(fp)) == (text, 1024, 1024)
    assert len(sam.response(0x90, sam.read_answer(text, bytes(1024), b""))) == 1297
    assert sam.decode_address("新区1号".ljust(35).encode("utf-16-le")) == "新区1号"
    # longer than 70 (as some readers answer): the first 70 bytes, as the vendor SDK reads
    assert sam.decode_address("新区1号".ljust(35).encode("utf-16-le") + "多余".encode(
        "utf-16-le")) == "新区1号"
    with pytest.raises(FrameError):
        sam.decode_address(bytes(68))
    with pytest.raises(FrameError):
        sam.split_read(data[:-1], fingerprint=True)


# --- fuzz --------------------------------------------------------------------------------------
GOOD = sam.response(0x90, bytes(range(16)))


@given(st.lists(st.one_of(st.binary(max_size=64), st.just(GOOD), st.just(sam.PREAMBLE),
                          st.just(b"\xaa\xaa\xaa\x96\x69\xff\xff")), max_size=30),
       st.integers(1, 64))
def test_sam_decoder_never_raises_finds_good_frames_and_stays_bounded(chunks, step):
    codec = sam.SamCodec()
    stream = b"".join(chunks) + GOOD  # whatever came before, a good frame is read at the end
    out = []
    for i in range(0, len(stream), step):
        out += codec.feed(stream[i:i + step])
        assert len(codec._buf) <= 7 + sam.MAX_LEN
    frames = [f for f in out if isinstance(f, sam.Frame)]
    assert frames and frames[-1].payload == bytes([0, 0, 0x90]) + bytes(range(16))


# --- the driver against the twin's faults -------------------------------------------------------
def card_at(hall):
    return hall.kiosk_cards.get("kiosk-1")


async def next_card(hall, reader, card, what):
    hall.kiosk_cards.pop("kiosk-1", None)
    reader.place(card)
    await hall.watch.until(lambda: card_at(hall) is not None, 5, what)
    return card_at(hall)


@pytest.mark.parametrize("card,lane_age", [
    (make_card("陈大文", date(1950, 6, 1), region="810000", card_type="hkmotw"), 76),
    (make_card("SMITH JOHN", date(1990, 2, 3), card_type="foreigner"), 36),
], ids=["hkmotw", "foreigner"])
async def test_every_card_type_reaches_the_kiosk(sim, card, lane_age):
    got = await next_card(sim.hall, sim.twin("reader-k1"), card, "card read")
    assert got.error is None and got.holder.age == lane_age


async def test_expired_card_is_reported_and_gives_no_ticket(sim):
    hall = sim.hall
    got = await next_card(hall, sim.twin("reader-k1"),
                          make_card("钱七", date(1960, 1, 1), valid_to="20200101"), "expired")
    assert got.error == "idcard.expired"
    with pytest.raises(Refused) as e:
        await hall.execute(IssueTicket("A", "kiosk-1", hall.take_card("kiosk-1")))
    assert e.value.code == "idcard.expired"
    assert not [e for e in hall.journal.read() if e.type == "ticket.issued"]


async def test_read_failure_then_a_good_read(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    reader.read_fault = True
    got = await next_card(hall, reader, make_card("孙八", date(1970, 1, 1)), "read failure")
    assert got.error == "idcard.read_failed"
    reader.read_fault = False
    got = await next_card(hall, reader, make_card("孙八", date(1970, 1, 1)), "good read")
    assert got.error is None


async def test_checksum_errors_and_slow_replies_still_read(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    reader.corrupt_next, reader.delay = 2, 0.2  # within the driver's 0.5 s find timeout
    got = await next_card(hall, reader, make_card("周九", date(1980, 1, 1)), "read")
    assert got.error is None
    assert hall.drivers["reader-k1"].counters.errors >= 2


async def test_a_card_left_on_the_reader_is_read_once(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    await next_card(hall, reader, make_card("吴十", date(1980, 1, 1)), "read")
    seen = reader.received
    await reader.watch.until(lambda: reader.received > seen + 10 * 10, 10, "ten more polls")
    assert reader.reads == 1


async def test_sam_self_test_failure_is_a_fault_until_it_passes(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    sup = hall.supervisors["reader-k1"]
    reader.sam_fault = True
    await reader.unplug()
    await reader.plug()
    await hall.watch.until(lambda: sup.state.state == "fault", 10, "fault")
    assert "60" in sup.state.detail and "selftest" in hall.drivers["reader-k1"].counters.last_error
    reader.sam_fault = False
    await hall.watch.until(lambda: sup.state.state == "ready", 10, "ready again")


# a reader that answers more than 70 bytes: the card is read, its address from the first 70
@pytest.mark.parametrize("extra", [b"", "补".encode("utf-16-le") * 3], ids=["70", "76"])
async def test_fingerprint_and_appended_address_reads(sim, extra):
    hall, reader = sim.hall, sim.twin("reader-k1")
    driver = hall.drivers["reader-k1"]
    driver.cfg = dataclasses.replace(driver.cfg, options={**driver.cfg.options,
                                                          "fingerprint": True,
                                                          "appended_address": True})
    cards = []
    hall._on_input, original = (lambda inp: (cards.append(inp), original(inp))), hall._on_input
    driver.emit = hall._on_input
    reader.appended_address, reader.appended_extra = "新区2号", extra
    await next_card(hall, reader, make_card("郑一", date(1980, 1, 1)), "read")
    card = cards[-1].payload
    assert card.fingerprint and card.address == "新区2号"


async def test_the_2023_foreign_residence_card_is_refused_in_words(sim):
    """Type 'Y': its layout is not established, so it is not read; the citizen is told what
    to do, and the reader's event names the card type."""
    hall, reader = sim.hall, sim.twin("reader-k1")
    cards = []
    driver = hall.drivers["reader-k1"]
    hall._on_input, original = (lambda inp: (cards.append(inp), original(inp))), hall._on_input
    driver.emit = hall._on_input
    hall.kiosk_cards.pop("kiosk-1", None)
    reader.place(DEMO_CARD, text_block=card_block("Y"))
    await hall.watch.until(lambda: card_at(hall) is not None, 5, "the card refused")
    assert (cards[-1].kind, cards[-1].payload) == ("card_error", "idcard.card_type_unsupported")
    status, body = await api(hall, "GET", "/api/kiosks/kiosk-1/card", role="kiosk")
    assert status == 200 and body["card"]["error"] == "idcard.card_type_unsupported"
    assert "咨询引导台" in body["card"]["message"] and "guide desk" in body["card"]["message_en"]
    status, body = await api(hall, "POST", "/api/tickets", {"category": "A", "kiosk": "kiosk-1"},
                             role="kiosk")
    assert (status, body["error"]) == (409, "idcard.card_type_unsupported")
    assert "咨询引导台" in body["message"]
    assert not [e for e in hall.journal.read() if e.type == "ticket.issued"]


async def test_the_kiosk_page_sees_masked_name_age_lane_and_token_only(sim):
    import aiohttp

    from kioskd.sim.scenario import token

    hall = sim.hall
    card = make_card("张三丰", date(1950, 1, 1), serial=77)
    await next_card(hall, sim.twin("reader-k1"), card, "read")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hall.api_url}/api/kiosks/kiosk-1/card",
                            headers={"Authorization": "Bearer " + token(hall.cfg, "kiosk")}) as r:
            body = await r.json()
            text = await r.text()
    assert body["card"]["name"] == "张**" and body["card"]["lane"] == "elderly"
    assert len(body["card"]["token"]) == 24 and card.id_number not in text
    assert card.id_number[6:14] not in text
