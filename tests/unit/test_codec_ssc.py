"""The social-security card's APDUs and answers (protocols.md §11), pure: the twin's answers
are read back into the card, and every refusal has its code."""

from __future__ import annotations

from datetime import date

import pytest

from kioskd.drivers.cardreader import ssc
from kioskd.sim.cardreader import SimCard, SocialCardTwin


def test_the_select_by_name_is_the_ssse_application_in_gbk():
    assert ssc.SELECT_SSSE == bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
    assert ssc.SSSE_NAME[7:].decode("gbk") == "社会保障"
    assert ssc.read_record(ssc.REC_ID_NUMBER) == bytes.fromhex("00B2080414")


def test_a_card_read_record_by_record_back_into_the_card():
    twin = SocialCardTwin.__new__(SocialCardTwin)
    twin.card, twin._file = SimCard(), b""
    assert ssc.selected(twin.answer(ssc.SELECT_SSSE))
    records = {}
    for ef, numbers in ((ssc.SELECT_EF05, (1, 7)), (ssc.SELECT_EF06, (8, 9, 10, 13))):
        assert ssc.selected(twin.answer(ef))
        for n in numbers:
            records[n] = ssc.record_value(n, twin.answer(ssc.read_record(n)))
    card = ssc.parse(records)
    assert (card.name, card.birth, card.id_number, card.card_no, card.region) == (
        "王秀英", date(1952, 5, 1), "110105195205010014", "A12345678", "110100")
    assert "王" not in repr(card) and "110105195205010014" not in repr(card)


@pytest.mark.parametrize("answer,code", [
    (b"\x69\x82", "card.pin_required"), (b"\x69\x83", "card.pin_required"),
    (b"\x6a\x83", "card.unreadable"), (b"\x08\x14" + b"1" * 5 + b"\x90\x00", "card.unreadable"),
    (b"\x09\x02ab\x90\x00", "card.unreadable"), (b"\x90", "card.mute")])
def test_each_refusal_has_its_code(answer, code):
    with pytest.raises(ssc.CardRefused) as e:
        ssc.record_value(0x08, answer)
    assert e.value.code == code


def test_a_bank_card_has_no_ssse_and_dates_must_be_dates():
    assert not ssc.selected(b"\x6a\x82") and ssc.selected(b"\x61\x10")
    with pytest.raises(ssc.CardRefused) as e:
        ssc.bcd_date(bytes.fromhex("19521301"))
    assert e.value.code == "card.unreadable"
