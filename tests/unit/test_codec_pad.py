"""The rating pad's own protocol (docs/pad-serial.md, docs/pad-mqtt.md): frames, seals,
noise."""

from __future__ import annotations

import pytest

from kioskd.drivers.pad import message, proto
from kioskd.drivers.pad.seal import seal
from kioskd.errors import FrameError


H = bytes.fromhex


# --- rating pad (our own protocol, docs/pad-serial.md) ---------------------------------------
PAD_W1_KEY = bytes.fromhex("5f1c0e7a3b9d4c2e8a6f0b1d7e3c9a24")  # devices.toml's pad-w1


def test_pad_frames_documented_examples():
    good = seal(PAD_W1_KEY, "7", "A001", 5, (), "")
    assert good == H("59 80 09 09 A6 98 F7 AF")
    assert proto.rating(1, 7, 5, (), good) == H(
        "68 0C 68 01 21 00 07 05 00 59 80 09 09 A6 98 F7 AF 65 16")
    bad = seal(PAD_W1_KEY, "8", "A002", 1, (1, 3), "等太久")
    assert proto.rating(1, 8, 1, (1, 3), bad, "等太久") == H(
        "68 17 68 01 21 00 08 01 02 01 03 17 AA 77 90 80 21 7F 58 E7 AD 89 E5 A4 AA E4 B9 85 4B 16")
    assert proto.prompt(1, 1, 3, "A001") == H("68 08 68 01 01 00 01 03 04 41 30 30 31 44 16")
    assert proto.reasons_frame(1, 6, [(1, "服务态度"), (2, "办事效率")]) == H(
        "68 1E 68 01 04 00 06 01 0C E6 9C 8D E5 8A A1 E6 80 81 E5 BA A6 02 0C E5 8A 9E E4 BA 8B "
        "E6 95 88 E7 8E 87 0E 16")
    r = proto.parse_rating(proto.rating(1, 8, 1, (1, 3), bad, "等太久")[5:-2])
    assert (r.txn, r.level, r.reasons, r.seal, r.text) == (8, 1, (1, 3), bad, "等太久")
    assert proto.parse_reasons(proto.reasons_frame(1, 6, [(1, "服务态度")])[5:-2]) == [(1, "服务态度")]


def test_pad_seal_binds_key_prompt_and_choice():
    base = seal(PAD_W1_KEY, "7", "A001", 1, (1,), "")
    other_key = bytes(16)
    assert base != seal(other_key, "7", "A001", 1, (1,), "")  # another pad
    assert base != seal(PAD_W1_KEY, "7", "A002", 1, (1,), "")  # another ticket
    assert base != seal(PAD_W1_KEY, "9", "A001", 1, (1,), "")  # another prompt
    assert base != seal(PAD_W1_KEY, "7", "A001", 2, (1,), "")  # the level changed on the way
    assert base != seal(PAD_W1_KEY, "7", "A001", 1, (1, 2), "")  # a reason added


def test_pad_rating_too_short_is_a_frame_error():
    with pytest.raises(FrameError):
        proto.parse_rating(b"\x00\x07\x05\x02\x01")  # claims 2 reasons, has 1 and no seal


def test_pad_codec_byte_by_byte_and_noise():
    data = (b"\xff\x00" + proto.rating(2, 300, 1, (1, 3), b"12345678")
            + proto.encode(2, 0x90, b"\x01\x2c\x00"))
    codec = proto.PadCodec()
    out = [x for b in data for x in codec.feed(bytes([b]))]
    frames = [x for x in out if isinstance(x, proto.PadFrame)]
    assert [f.func for f in frames] == [proto.RATING, 0x90]
    assert frames[0].txn == 300 and proto.parse_rating(frames[0].data).reasons == (1, 3)
    assert any(isinstance(x, FrameError) for x in out)


@pytest.mark.parametrize("raw,ok", [
    (b'rating\n{"transaction": "ab", "level": 4, "reasons": [], "text": "", "seal": "00"}', True),
    (b'response\n{"transaction": "ab", "status": "ok"}', True),
    (b'rating\n{"transaction": "ab", "level": "4", "seal": "00"}', False),  # level a string
    (b'rating\n{"transaction": "ab", "level": 4, "reasons": [true], "seal": "00"}', False),
    (b'rating\n{"transaction": "ab", "level": 4}', False),  # no seal
    (b'response\n{"status": "ok"}', False),  # no transaction
    (b'response\n[1, 2]', False),
    (b'response\n{not json', False),
    (b'request\n{"transaction": "ab"}', False),  # the host's own subtopic
])
def test_pad_mqtt_messages(raw, ok):
    (out,) = message.MessageCodec().feed(raw)
    assert isinstance(out, message.PadMessage) == ok, out
