"""ESC/POS: the ticket's bytes, its QR, status replies (DLE EOT, ASB) and what they mean."""

from __future__ import annotations

import dataclasses
import os
import pytest

from kioskd.drivers.printer import escpos
from kioskd.sim.printer import EscposInterpreter


H = bytes.fromhex


# --- ESC/POS -------------------------------------------------------------------------------------
S = escpos.status_byte


OK4 = (S(), S(), S(), S())


@pytest.mark.parametrize("replies,condition", [
    (OK4, "ok"),
    ((S(), S(), S(), S(2, 3)), "paper_near_end"),
    ((S(3), S(5), S(), S(2, 3, 5, 6)), "paper_out"),
    ((S(3), S(2), S(), S()), "cover_open"),
    ((S(3), S(6), S(3), S()), "cutter_error"),
    ((S(3), S(), S(), S()), "offline"),
    ((S(), S(), S(5), S()), "offline"),  # unrecoverable error
    # an invalid or missing reply is unknown, never "no paper"
    ((0x00, 0xFF, None, 0xFF), "unknown"),
    ((None, None, None, None), "unknown"),
    ((S(), S(), None, S()), "unknown"),  # no DLE EOT 3 on this model: cannot vouch for it
    ((S(), S(), None, S(2, 3)), "paper_near_end"),  # what it did say still counts
], ids=["ok", "near_end", "paper_out", "cover_open", "cutter", "offline", "unrecoverable",
        "garbage", "silent", "partial", "partial-near-end"])
def test_printer_condition_from_dle_eot_1_to_4(replies, condition):
    assert escpos.PrinterStatus.decode(*replies).condition == condition
    assert escpos.PrinterStatus.decode(0x00, 0xFF, None, 0xFF).paper == "unknown"


def test_automatic_status_back_frames_are_told_from_dle_eot_replies():
    codec = escpos.StatusCodec(asb=True)
    asb = bytes([0x10 | 0x20, 0x00, 0x00, 0x00])  # cover open
    out = []
    for b in bytes([S()]) + b"\x13" + asb[:2] + b"\x11" + asb[2:] + bytes([S(2, 3)]):
        out += codec.feed(bytes([b]))
    assert out == [S(), escpos.Asb(asb), S(2, 3)]
    assert escpos.PrinterStatus.from_asb(asb).condition == "cover_open"
    assert escpos.PrinterStatus.from_asb(bytes([0x10, 0, 0x0C, 0])).condition == "paper_out"
    assert escpos.PrinterStatus.from_asb(bytes([0x10, 0, 0x03, 0])).condition == "paper_near_end"
    # without ASB the same byte is a (malformed) reply, so a garbled answer is "unknown" at once
    assert escpos.StatusCodec().feed(asb[:1]) == [asb[0]]


def test_ticket_stream_exact_bytes():
    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30",
                          "demo-hall/2026-11-24/A001", wait_min=12)
    gb = lambda s: (s + "\n").encode("gb18030")  # noqa: E731
    normal = H("1b 21 00 1b 21 00 1b 21 00 1b 45 00 1b 61 01")  # python-escpos set(): mode, bold, centre
    qr = "demo-hall/2026-11-24/A001".encode()
    expected = b"".join([
        H("1b 40"), H("1c 26"),  # init; Chinese mode (python-escpos never sends FS &)
        H("1b 21 00 1b 21 00 1b 21 10 1b 45 01 1b 61 01"), gb("示范区政务服务中心"),  # double height
        normal, gb("综合受理"),
        H("1d 21 33 1b 45 01 1b 61 01"), gb("A001"),  # 4x4, bold
        normal, gb("您前面还有 3 人等候"),
        normal, gb("预计等候约 12 分钟"),
        normal, gb("2026-11-24 09:30"),
        H("1d 28 6b 04 00 31 41 32 00"), H("1d 28 6b 03 00 31 43 06"),  # QR model 2, module 6
        H("1d 28 6b 03 00 31 45 30"),  # error correction L
        H("1d 28 6b") + bytes([len(qr) + 3, 0]) + H("31 50 30") + qr, H("1d 28 6b 03 00 31 51 30"),
        normal, gb("请留意叫号，过号将顺延"),
        normal, H("1b 64 06"), H("1d 56 00"),  # feed 6 lines, full cut
    ])
    assert escpos.build_ticket(t) == expected


def test_template_fields_choose_and_order_what_prints():
    t = escpos.TicketText("大厅", "综合受理", "A001", 0, "2026-11-24 09:30", "q", wait_min=0)
    interp = EscposInterpreter()
    interp.feed(escpos.build_ticket(t, fields=("number", "title", "wait")))
    assert interp.done[0].lines == ["A001", "大厅", "即将为您服务"]
    interp.feed(escpos.build_ticket(dataclasses.replace(t, wait_min=None)))
    assert not any("等候约" in line or "即将" in line for line in interp.done[1].lines)


def test_58mm_profile_without_native_qr_prints_it_as_an_image_that_decodes():
    import numpy as np
    import zxingcpp

    text = "https://zwfw.example.cn/t/示范区/A001"
    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30", text)
    data = escpos.build_ticket(t, profile="POS-5890")  # 58 mm, qrCode: false
    assert H("1d 28 6b") not in data and H("1d 76 30") in data
    interp = EscposInterpreter()
    interp.feed(data)
    (ticket,) = interp.done
    (img,) = ticket.images
    assert img.width <= 384
    bits = np.unpackbits(np.frombuffer(img.bits, np.uint8)).reshape(img.height, img.width)
    pixels = np.where(bits == 1, 0, 255).astype(np.uint8)
    assert [r.text for r in zxingcpp.read_barcodes(pixels)] == [text]


def test_an_image_qr_is_six_dots_a_module_in_the_middle_of_the_paper():
    """Module 6 (0.75 mm at 203 dpi), as the native QR: a phone reads it at arm's length, and it
    stands centred on the 58 mm roll like the text above it."""
    import numpy as np

    t = escpos.TicketText("大厅", "综合受理", "A001", 3, "2026-11-24 09:30", "https://x/A001")
    interp = EscposInterpreter()
    interp.feed(escpos.build_ticket(t, profile="POS-5890"))
    (img,) = interp.done[0].images
    bits = np.unpackbits(np.frombuffer(img.bits, np.uint8)).reshape(img.height, img.width)
    rows, cols = np.where(bits.any(1))[0], np.where(bits.any(0))[0]
    left, right = cols[0], img.width - 1 - cols[-1]
    assert img.width == 384 and abs(left - right) <= 1 and left > 100
    top = bits[rows[0], cols[0]:]
    assert int(np.argmin(top)) == 7 * 6  # the finder pattern's edge: 7 modules of 6 dots


def test_the_ticket_is_a_value_and_python_escpos_caches_its_printer_database_once(tmp_path):
    t = escpos.TicketText("大厅", "综合受理", "A001", 0, "2026-11-24 09:30", "q")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.number = "A002"  # type: ignore[misc]
    # python-escpos re-parses its capabilities and makes a temporary folder on every import
    # unless told where to cache them: a fresh process, the folder not made yet, then told
    import subprocess
    import sys
    import tempfile

    script = ("import os; from kioskd.drivers.printer import escpos; "
              "escpos.build_ticket(escpos.TicketText('h', 'c', 'A001', 0, 't', ''), fields=()); "
              "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])")
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["TMPDIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == str(tmp_path / "kioskd-escpos") and any((tmp_path / "kioskd-escpos").iterdir())
    deep = tmp_path / "not" / "made" / "yet"
    env["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(deep)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)
    assert any(deep.iterdir())
    assert tempfile.gettempdir() != str(tmp_path)  # the test's own process was left alone


def test_dle_eot_spelt_by_raster_bytes_is_answered_and_counted():
    # a printer runs DLE EOT wherever the bytes appear, even in image data (protocols.md §2.2)
    raster = H("1d 76 30 00 02 00 02 00") + H("00 10 04 04")
    interp = EscposInterpreter()
    assert interp.feed(raster + H("10 04 01")) == [4, 1]
    assert escpos.status_queries_in(raster) == 1


def test_ticket_bytes_keep_every_character():
    t = escpos.TicketText("示范区政务服务中心：鿏〇", "不动产登记", "B012", 3, "2026-11-24 09:30", "h/B012")
    data = escpos.build_ticket(t)
    assert data.startswith(H("1B 40"))
    assert "示范区政务服务中心：鿏〇".encode("gb18030") in data  # python-escpos alone sends ?
    assert H("1D 28 6B") in data and data.rstrip().endswith(H("1D 56 00"))
    interp = EscposInterpreter()
    for b in data:
        interp.feed(bytes([b]))
    (ticket,) = interp.done
    assert ticket.lines[0] == "示范区政务服务中心：鿏〇"
    assert "B012" in ticket.big and ticket.qr == ["h/B012"]
    assert "您前面还有 3 人等候" in ticket.text and not interp.unknown


def test_printer_status_bytes_described_for_the_technician():
    from kioskd.drivers.printer.escpos import describe_status

    assert describe_status(1, 0x12) == "0x12 printer status: online"
    assert describe_status(1, 0x1A) == "0x1a printer status: offline"
    assert describe_status(2, 0x16) == "0x16 offline cause: cover open"
    assert describe_status(2, 0x32) == "0x32 offline cause: cover closed, stopped at paper end"
    assert describe_status(3, 0x1A) == "0x1a error cause: cutter error"
    assert describe_status(4, 0x1E) == "0x1e paper sensor: paper near_end"
    assert describe_status(4, 0x72) == "0x72 paper sensor: paper out"
    assert describe_status(4, 0x00).endswith("not a status byte (0xx1xx10)")


def test_escpos_status_requests_and_their_count_in_raster_bytes():
    # DLE EOT n, n = 1 printer, 2 offline cause, 3 error cause, 4 paper sensor (protocols.md §2.2)
    assert [escpos.status_query(n) for n in (escpos.STATUS_PRINTER, escpos.STATUS_OFFLINE_CAUSE,
                                             escpos.STATUS_ERROR_CAUSE, escpos.STATUS_PAPER)] == [
        H("10 04 01"), H("10 04 02"), H("10 04 03"), H("10 04 04")]
    assert escpos.status_queries_in(H("10 04 01 10 04 02 10 04 03 10 04 04 10 04 05 10 04")) == 4
    for n in (1, 2, 3, 4):  # each one counted by itself, not by a neighbour's double count
        assert escpos.status_queries_in(H("00 10 04") + bytes([n])) == 1, n


def test_automatic_status_back_each_bit_by_itself():
    """ASB bytes 1-3 (GS a; Epson's layout): each flag read from its own byte and bit."""
    asb = lambda b1=0, b2=0, b3=0: escpos.PrinterStatus.from_asb(bytes([0x10 | b1, b2, b3, 0]))  # noqa: E731
    assert (asb().online, asb().cover_open, asb().paper, asb().cutter_error,
            asb().unrecoverable) == (True, False, "ok", False, False)
    assert asb(b1=0x08).online is False and asb(b1=0x08).cover_open is False
    assert asb(b1=0x20).cover_open is True and asb(b1=0x20).online is True
    assert asb(b2=0x08).cutter_error is True and asb(b2=0x08).unrecoverable is False
    assert asb(b2=0x20).unrecoverable is True and asb(b2=0x20).cutter_error is False
    assert asb(b2=0x01).cutter_error is False and asb(b2=0x01).unrecoverable is False
    assert asb(b1=0x01).online is True and asb(b1=0x01).cover_open is False
    assert asb(b3=0x01).paper == "near_end"
    assert asb(b3=0x04).paper == "out" and asb(b3=0x08).paper == "out"
    assert asb(b1=0x08, b2=0x08).paper == "ok"  # the paper is byte 3's alone
    # bytes 2-4 are 0xx0xxxx: a low bit set is still the rest of the frame
    codec = escpos.StatusCodec(asb=True)
    assert codec.feed(H("10 01 03 00") + H("11 13") + H("10 01") + H("11") + H("00 0F")) == [
        escpos.Asb(H("10 01 03 00")), escpos.Asb(H("10 01 00 0F"))]
    assert escpos.StatusCodec(asb=True).feed(H("10 00 80 12")) == [0x80, 0x12]


def test_escpos_status_masks_and_words():
    S = escpos.status_byte
    assert escpos.PrinterStatus.decode(None, S(5)).paper == "out"  # stopped at paper end
    assert escpos.PrinterStatus.decode(None, S(5), None, S()).paper == "out"
    assert escpos.PrinterStatus.decode(None, S(2)).cover_open is True
    assert escpos.PrinterStatus.decode(None, None, S(3)).cutter_error is True
    assert escpos.PrinterStatus.decode(None, None, S(5)).unrecoverable is True
    assert escpos.PrinterStatus().condition == "unknown" and escpos.PrinterStatus().paper == "unknown"
    # the paper sensor alone silent: the printer is not "ok", its state is not known
    assert escpos.PrinterStatus.decode(S(), S(), S(), None).condition == "unknown"
    # a printer that has said nothing yet is known as little as one that did not answer
    assert escpos.PrinterStatus() == escpos.PrinterStatus.decode(None, None, None, None)
    assert escpos.describe_status(3, S(3, 5)) == "0x3a error cause: cutter error, unrecoverable error"
    assert escpos.describe_status(3, S()) == "0x12 error cause: no cutter error"
    assert escpos.describe_status(2, S(2, 5)) == "0x36 offline cause: cover open, stopped at paper end"
    assert escpos.describe_status(7, S()) == "0x12 status 7"
    assert escpos.describe_status(4, S()) == "0x12 paper sensor: paper ok"
    # the conditions the hall acts on, and which of them stop a ticket from printing
    assert escpos.CONDITIONS == ("ok", "paper_near_end", "paper_out", "cover_open", "cutter_error",
                                 "offline", "unknown")
    assert escpos.FAULTS == {"paper_out", "cover_open", "cutter_error", "offline"}


@pytest.mark.parametrize("encoding", ["gb18030", "GBK", "gb2312", "cp936"])
def test_every_gb_encoding_switches_chinese_mode_on_and_unprintable_text_is_replaced(encoding):
    t = escpos.TicketText("大厅𠀀", "综合受理", "A001", 0, "2026-11-24 09:30", "")
    data = escpos.build_ticket(t, encoding=encoding, fields=("title",))
    assert data.startswith(H("1b 40 1c 26"))
    assert "大厅".encode(encoding) in data
    assert escpos.build_ticket(t, encoding="cp437", fields=()).find(H("1c 26")) < 0


def test_ticket_qr_modes_and_empty_fields_print_nothing():
    t = escpos.TicketText("大厅", "综合受理", "A001", 0, "2026-11-24 09:30", "q")
    assert H("1d 28 6b") in escpos.build_ticket(t, profile="POS-5890", qr="native")
    image = escpos.build_ticket(t, qr="image")
    assert H("1d 28 6b") not in image and H("1d 76 30") in image
    assert t.wait_min is None and escpos.build_ticket(t, fields=("wait",)) == \
        escpos.build_ticket(t, fields=())
    empty = dataclasses.replace(t, footer="", qr="")
    assert escpos.build_ticket(empty, fields=("qr", "footer")) == escpos.build_ticket(t, fields=())
