"""The contact-card reader (cardreader.pcsc) on the real PC/SC stack: pcscd, Debian's
vsmartcard-vpcd, pyscard, and the card twin behind vpcd. A social-security card at a kiosk
does what an ID card does; every card it cannot read is an outcome with its code; the ID
number goes nowhere but into the keyed token."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from kioskd import config
from kioskd.drivers.registry import Role
from kioskd.sim.cardreader import SimCard
from kioskd.sim.idcard import make_card
from support.helpers import REPO, api

READER_ENTRY = """
[[device]]
id = "cardreader-k1"
type = "cardreader.pcsc"
kiosk = "kiosk-1"
url = "pcsc://{reader}"
sim = {{ vpcd_port = {port} }}
"""
CARD = SimCard()  # 王秀英, 1952-05-01, the same number as make_card("王秀英", …) below


@pytest.fixture
async def card_hall(pcscd, hall_of, tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text((REPO / "devices.toml").read_text(encoding="utf-8")
                    + READER_ENTRY.format(reader=pcscd[0], port=pcscd[1]), encoding="utf-8")
    cfg = config.load(path)
    # 社保医保 as a real hall runs it: a card on the reader, one ticket a citizen a day
    cfg = dataclasses.replace(cfg, categories=tuple(
        dataclasses.replace(c, requires_id=True, per_person_daily=1) if c.code == "C" else c
        for c in cfg.categories))
    sim = await hall_of(cfg)
    hall = sim.hall
    await hall.watch.until(lambda: hall.supervisors["cardreader-k1"].state.state == "ready",
                           15, "the reader is open on pcscd")
    return sim


async def card_at_kiosk(hall, twin, card: SimCard) -> dict:
    before = hall.kiosk_cards.get("kiosk-1")
    await twin.insert(card)
    await hall.watch.until(lambda: hall.kiosk_cards.get("kiosk-1") is not before, 10,
                           "the card read at the kiosk")
    status, body = await api(hall, "GET", "/api/kiosks/kiosk-1/card", kiosk="kiosk-1")
    assert status == 200
    await twin.remove()
    return body["card"]


async def test_a_social_security_card_takes_a_ticket_as_the_id_card_does(card_hall):
    sim, hall = card_hall, card_hall.hall
    twin = sim.twin("cardreader-k1")
    assert hall.cfg.device("cardreader-k1").role is Role.CARD_READER
    shown = await card_at_kiosk(hall, twin, CARD)
    assert (shown["name"], shown["age"], shown["lane"]) == ("王**", 74, "elderly")
    # 社保医保 (C): one ticket a person a day, the person known by either card
    status, first = await api(hall, "POST", "/api/tickets", {"category": "C"}, kiosk="kiosk-1")
    assert status == 201 and first["lane"] == "elderly", first
    reader = sim.twin("reader-k1")
    reader.place(make_card("王秀英", date(1952, 5, 1), gender="女"))
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 10, "the ID card read")
    assert hall.kiosk_cards["kiosk-1"].holder.token == shown["token"]  # the same citizen
    status, again = await api(hall, "POST", "/api/tickets", {"category": "C"}, kiosk="kiosk-1")
    assert (status, again.get("error")) == (409, "category.per_person"), again
    await reader.lifted()


@pytest.mark.parametrize("card,code", [
    (SimCard(kind="pin"), "card.pin_required"),
    (SimCard(kind="bank"), "card.unsupported"),
    (SimCard(pulled_after=3), "card.removed")])
async def test_a_card_it_cannot_read_is_said_with_its_code(card_hall, card, code):
    hall, twin = card_hall.hall, card_hall.twin("cardreader-k1")
    shown = await card_at_kiosk(hall, twin, card)
    assert shown["error"] == code and shown["message"], shown
    assert hall.drivers["cardreader-k1"].counters.last_error.startswith(code)
    status, ticket = await api(hall, "POST", "/api/tickets", {"category": "C"}, kiosk="kiosk-1")
    assert (status, ticket["error"]) == (409, code)  # no ticket on a card that was not read


async def test_the_number_and_the_name_go_nowhere(card_hall, kioskd_log):
    sim, hall = card_hall, card_hall.hall
    twin = sim.twin("cardreader-k1")
    await card_at_kiosk(hall, twin, CARD)
    await api(hall, "POST", "/api/tickets", {"category": "A"}, kiosk="kiosk-1")
    status, frames = await api(hall, "GET", "/api/devices/cardreader-k1/frames",
                               role="technician")
    status, last = await api(hall, "GET", "/api/devices/cardreader-k1/last", role="technician")
    status, listed = await api(hall, "GET", "/api/devices", role="technician")
    journal = [json.dumps(e.data, ensure_ascii=False) for e in hall.journal.read(0, 10_000)]
    seen = "\n".join([json.dumps(frames, ensure_ascii=False), json.dumps(last, ensure_ascii=False),
                      json.dumps(listed, ensure_ascii=False), kioskd_log.text, *journal])
    assert "READ RECORD 08" in seen  # the frames are there: what they carried is not
    for secret in (CARD.id_number, CARD.name, CARD.card_no, CARD.id_number[-6:]):
        assert secret not in seen
    assert last["card"]["name"] == "王**"


async def test_an_expired_social_security_card_is_refused(card_hall):
    hall, twin = card_hall.hall, card_hall.twin("cardreader-k1")
    shown = await card_at_kiosk(hall, twin, SimCard(valid_to=date(2020, 1, 1)))
    assert shown["error"] == "card.expired" and "有效期" in shown["message"], shown
    status, ticket = await api(hall, "POST", "/api/tickets", {"category": "C"}, kiosk="kiosk-1")
    assert (status, ticket["error"]) == (409, "card.expired")
