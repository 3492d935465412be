"""Barcodes and QR codes in camera frames: zxing-cpp (the default) or pyzbar.

Chosen by measurement (bench/run.py; baselines.md agrees): zxing-cpp limited to the symbologies
a hall meets, without its rotate/downscale/invert retries, decodes a 1920x1080 frame in ~5 ms and
a 2592x1944 one in ~16 ms, inside the 33 ms a 30 frame/s preview allows; pyzbar takes ~90 and
~240 ms and mangles UTF-8 Chinese through Shift-JIS one time in eight. Both give text from the
code's raw bytes, tried as UTF-8 then GB18030 (QR codes from GBK systems are common here).
"""

from __future__ import annotations

import numpy as np

from kioskd.drivers.scanner.codes import Scan  # one type for a code, from a gun or a camera

DECODERS = ("zxing", "zbar")


def text_of(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def unmangle_zbar(data: bytes) -> str:
    """zbar guesses a QR's byte-mode text is Shift-JIS when its bytes happen to fit, and hands
    back that guess converted to UTF-8: `预约` arrives as `鬚...`. Converting back to Shift-JIS
    gives the code's own bytes again; they are the text when they are valid UTF-8 (a check
    that text which really was Shift-JIS, rare in a Chinese hall, almost never passes)."""
    text = text_of(data)
    try:
        raw = text.encode("shift_jis")
    except UnicodeEncodeError:
        return text
    try:
        fixed = raw.decode("utf-8")
    except UnicodeDecodeError:
        return text
    return fixed if fixed != text and not fixed.isascii() else text


class ZxingDecoder:
    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp

        self._z = zxingcpp
        fmt = zxingcpp.BarcodeFormat
        self.formats = (fmt.QRCode, fmt.Code128, fmt.DataMatrix, fmt.PDF417, fmt.EAN13)
        names = {fmt.QRCode: "qr", fmt.Code128: "code128", fmt.DataMatrix: "datamatrix",
                 fmt.PDF417: "pdf417", fmt.EAN13: "ean13"}
        self._names = names

    def decode(self, gray: np.ndarray) -> list[Scan]:
        # the document camera looks straight down at paper: codes are neither inverted nor
        # tiny, and retrying turned and shrunk copies costs 2x (baselines.md)
        found = self._z.read_barcodes(gray, formats=self.formats, try_rotate=False,
                                      try_downscale=False, try_invert=False)
        return [Scan(text_of(bytes(r.bytes)), self._names.get(r.format, str(r.format).lower()))
                for r in found if r.valid]


class ZbarDecoder:
    name = "zbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar  # needs Debian's libzbar0

        self._zbar = pyzbar
        self.symbols = [pyzbar.ZBarSymbol.QRCODE, pyzbar.ZBarSymbol.CODE128,
                        pyzbar.ZBarSymbol.EAN13, pyzbar.ZBarSymbol.PDF417]

    def decode(self, gray: np.ndarray) -> list[Scan]:
        return [Scan(unmangle_zbar(r.data), r.type.lower().replace("qrcode", "qr"))
                for r in self._zbar.decode(gray, symbols=self.symbols)]


def make_decoder(name: str = "zxing") -> ZxingDecoder | ZbarDecoder:
    if name == "zbar":
        return ZbarDecoder()
    return ZxingDecoder()
