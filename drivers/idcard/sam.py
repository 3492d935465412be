"""GA 467 SAM_V frames for 2nd-generation ID-card readers (protocols.md §1). Pure: no I/O.

Frame (both directions): AA AA AA 96 69 | LEN (2, BE: bytes after LEN, CHK included) |
payload | CHK (XOR of LEN..payload). A command's payload is CMD PARA [data]; a response's is
SW1 SW2 SW3 [data].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kioskd.drivers.framing import skip_to
from kioskd.errors import ChecksumError, DeviceFault, FrameError, FrameTooLong

PREAMBLE = bytes.fromhex("AAAAAA9669")
MAX_LEN = 4096  # the longest real answer (text+photo+fingerprint) is 2314

RESET = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
SAM_ID = (0x12, 0xFF)
FIND = (0x20, 0x01)
SELECT = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)
READ_TEXT_PHOTO_FP = (0x30, 0x10)
READ_NEW_ADDRESS = (0x30, 0x03)

SW_OK, SW_FOUND, SW_NO_ITEM = 0x90, 0x9F, 0x91

# SW3 -> stable error code. Texts stay in the protocol sheet; code compares codes.
STATUS_CODES: dict[int, str] = {
    0x10: "idcard.sam_checksum", 0x11: "idcard.sam_length", 0x21: "idcard.sam_bad_command",
    0x23: "idcard.sam_unauthorised_op", 0x24: "idcard.sam_unknown_error",
    0x31: "idcard.card_auth_sam_failed", 0x32: "idcard.sam_auth_card_failed",
    0x33: "idcard.verify_failed", 0x34: "idcard.not_found_yet", 0x40: "idcard.unknown_card_type",
    0x41: "idcard.read_failed", 0x47: "idcard.random_failed", 0x50: "idcard.write_failed",
    0x60: "idcard.sam_selftest_failed", 0x61: "idcard.login_failed",
    0x66: "idcard.sam_unauthorised", 0x80: "idcard.not_found", 0x81: "idcard.select_failed",
    0x91: "idcard.no_item",
}


class SamStatusError(DeviceFault):
    """The SAM answered with a failure status; `code` is stable, `sw3` the raw byte."""

    def __init__(self, sw3: int):
        self.sw3 = sw3
        super().__init__(f"SAM status {sw3:02X}", STATUS_CODES.get(sw3, f"idcard.sw_{sw3:02x}"))


def checksum(body: bytes) -> int:
    x = 0
    for b in body:
        x ^= b
    return x


def encode(payload: bytes) -> bytes:
    body = (len(payload) + 1).to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


def command(cmd: tuple[int, int], data: bytes = b"") -> bytes:
    return encode(bytes(cmd) + data)


def response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    return encode(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True)
class Frame:
    payload: bytes = field(repr=False)  # may hold personal data: never in a repr

    @property
    def command(self) -> tuple[int, int]:
        return self.payload[0], self.payload[1]

    @property
    def sw3(self) -> int:
        return self.payload[2]

    @property
    def data(self) -> bytes:
        """Data after the status block (responses)."""
        return self.payload[3:]

    def ok(self, expect: int = SW_OK) -> bytes:
        """The response data, or SamStatusError when SW1 SW2 SW3 is not 00 00 `expect`."""
        if len(self.payload) < 3:
            raise FrameError("SAM response shorter than its status block")
        if self.payload[0] or self.payload[1] or self.sw3 != expect:
            raise SamStatusError(self.sw3)
        return self.data


class SamCodec:
    """Incremental frame splitter for either direction."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        self._buf += data
        out: list[Frame | FrameError] = []
        while True:
            if not skip_to(self._buf, PREAMBLE, out):
                return out
            if len(self._buf) < 7:
                return out
            length = int.from_bytes(self._buf[5:7], "big")
            if length < 2 or length > MAX_LEN:
                out.append(FrameTooLong(f"frame length {length} outside 2..{MAX_LEN}"))
                del self._buf[:1]
                continue
            if len(self._buf) < 7 + length:
                # a truncated frame (a reader reset mid-answer) must not swallow the good frame
                # that follows it: if one starts inside and is whole and valid, drop the stub
                later = self._valid_frame_after()
                if later is None:
                    return out
                out.append(FrameError(f"truncated frame ({later} bytes) dropped"))
                del self._buf[:later]
                continue
            body = bytes(self._buf[5:7 + length - 1])
            chk = self._buf[7 + length - 1]
            if checksum(body) != chk:
                out.append(ChecksumError(f"checksum {chk:02X}, computed {checksum(body):02X}"))
                del self._buf[:1]
                continue
            del self._buf[:7 + length]
            out.append(Frame(body[2:]))

    def _valid_frame_after(self) -> int | None:
        at = self._buf.find(PREAMBLE, 1)
        while at >= 0:
            if len(self._buf) >= at + 7:
                n = int.from_bytes(self._buf[at + 5:at + 7], "big")
                end = at + 7 + n
                if 2 <= n <= MAX_LEN and len(self._buf) >= end \
                        and checksum(self._buf[at + 5:end - 1]) == self._buf[end - 1]:
                    return at
            at = self._buf.find(PREAMBLE, at + 1)
        return None


# --- the card's text block (256 bytes UCS-2 LE, protocols.md §1.6) -----------------------------
GENDERS = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
ETHNICITIES = dict(enumerate(
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 "
    "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺".split(), 1))
ETHNICITIES.update({97: "其他", 98: "外国血统中国籍人士"})

CARD_TYPES = {"": "resident", "I": "foreigner", "J": "hkmotw"}  # a resident's flag is blank
# 'Y' (the 2023 foreigner card) is known but not read: its offsets are not established
# (protocols.md §1.6), so it is refused by name rather than guessed
UNSUPPORTED_TYPES = {"Y": "2023 foreign permanent residence card"}
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of an ID number's first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def id_number_valid(number: str) -> bool:
    return (len(number) == 18 and number[:17].isdigit()
            and check_char(number[:17]) == number[17].upper())


@dataclass(frozen=True)
class IdCard:
    """A decoded card. Only `name`, `birth` and the check result leave the driver; everything
    else is here so tests and later issues can use it, and is kept out of every repr."""

    card_type: str
    name: str = field(repr=False)
    gender: str = field(repr=False)
    birth: date = field(repr=False)
    id_number: str = field(repr=False)
    ethnicity: str = field(default="", repr=False)
    address: str = field(default="", repr=False)
    issuer: str = field(default="", repr=False)
    valid_from: str = field(default="", repr=False)
    valid_to: str = field(default="", repr=False)  # YYYYMMDD or 长期
    permit_number: str = field(default="", repr=False)  # 'J': 通行证号码
    nationality: str = field(default="", repr=False)  # 'I': 3-letter code
    fingerprint: bool = False  # templates were on the card (they are never kept)

    @property
    def number_valid(self) -> bool:
        return self.card_type == "foreigner" or id_number_valid(self.id_number)

    def expired_on(self, today: date) -> bool:
        if not self.valid_to.isdigit():
            return False  # 长期: valid for life
        return _date(self.valid_to) < today


def _field(block: bytes, offset: int, size: int) -> str:
    return block[offset:offset + size].decode("utf-16-le", errors="replace").strip(" \x00")


def _date(text: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise FrameError(f"bad date field ({len(text)} chars)") from None


def decode_text(block: bytes) -> IdCard:
    if len(block) != 256:
        raise FrameError(f"text block is {len(block)} bytes, expected 256")
    flag = _field(block, 248, 2)
    kind = CARD_TYPES.get(flag)
    if flag in UNSUPPORTED_TYPES:
        raise DeviceFault(f"card type {flag!r} ({UNSUPPORTED_TYPES[flag]}) is not read here",
                          "idcard.card_type_unsupported")
    if kind is None:
        raise DeviceFault(f"unknown card type flag {flag!r}", "idcard.card_type_unknown")
    if kind == "foreigner":
        return IdCard(kind, name=_field(block, 158, 30) or _field(block, 0, 120),
                      gender=GENDERS.get(_field(block, 120, 2), "未知"),
                      birth=_date(_field(block, 220, 16)), id_number=_field(block, 122, 30),
                      nationality=_field(block, 152, 6),
                      valid_from=_field(block, 188, 16), valid_to=_field(block, 204, 16))
    if kind == "hkmotw":  # no ethnicity; the permit number follows the validity dates
        return IdCard(
            kind, name=_field(block, 0, 30), gender=GENDERS.get(_field(block, 30, 2), "未知"),
            birth=_date(_field(block, 36, 16)), id_number=_field(block, 122, 36),
            address=_field(block, 52, 70), issuer=_field(block, 158, 30),
            valid_from=_field(block, 188, 16), valid_to=_field(block, 204, 16),
            permit_number=_field(block, 220, 18))
    eth = _field(block, 32, 4)
    return IdCard(
        kind, name=_field(block, 0, 30), gender=GENDERS.get(_field(block, 30, 2), "未知"),
        birth=_date(_field(block, 36, 16)), id_number=_field(block, 122, 36),
        ethnicity=ETHNICITIES.get(int(eth), "") if kind == "resident" and eth.isdigit() else "",
        address=_field(block, 52, 70), issuer=_field(block, 158, 30),
        valid_from=_field(block, 188, 16), valid_to=_field(block, 204, 16))


def encode_text(card: IdCard) -> bytes:
    """The inverse of decode_text (the simulator's cards), for the three card types."""
    gender = next((k for k, v in GENDERS.items() if v == card.gender), "0")
    birth = card.birth.strftime("%Y%m%d")
    if card.card_type == "foreigner":
        parts = [(card.name if card.name.isascii() else "", 60), (gender, 1),
                 (card.id_number, 15), (card.nationality, 3),
                 ("" if card.name.isascii() else card.name, 15), (card.valid_from, 8),
                 (card.valid_to, 8), (birth, 8), ("20", 2), ("1100", 4), ("I", 1), ("", 3)]
    else:
        eth = next((f"{k:02d}" for k, v in ETHNICITIES.items() if v == card.ethnicity), "01")
        head = [(card.name, 15), (gender, 1),
                ("" if card.card_type == "hkmotw" else eth, 2), (birth, 8),
                (card.address, 35), (card.id_number, 18), (card.issuer, 15),
                (card.valid_from, 8), (card.valid_to, 8)]
        tail = ([(card.permit_number, 9), ("01", 2), ("", 3), ("J", 1), ("", 3)]
                if card.card_type == "hkmotw" else [("", 18)])
        parts = head + tail
    block = b"".join(text[:n].ljust(n).encode("utf-16-le") for text, n in parts)
    assert len(block) == 256, len(block)
    return block


def read_answer(text: bytes, photo: bytes = bytes(1024), fingerprint: bytes | None = None) -> bytes:
    """The 30 01 answer's data: text length, photo length (BE), text, photo; with 30 10 a
    fingerprint length after the photo's, and the templates after the photo."""
    lengths = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
    if fingerprint is None:
        return lengths + text + photo
    return lengths + len(fingerprint).to_bytes(2, "big") + text + photo + fingerprint


def split_read(data: bytes, fingerprint: bool = False) -> tuple[bytes, bytes, bytes]:
    """(text, photo, fingerprint) from a 30 01 / 30 10 answer's data. The photo is opaque WLT,
    the fingerprint two templates: the driver drops both at once."""
    fields = 3 if fingerprint else 2
    if len(data) < 2 * fields:
        raise FrameError("read answer too short")
    lens = [int.from_bytes(data[2 * i:2 * i + 2], "big") for i in range(fields)]
    start = 2 * fields
    if len(data) < start + sum(lens):
        raise FrameError(f"read answer is {len(data)} bytes, its lengths say {start + sum(lens)}")
    text = data[start:start + lens[0]]
    photo = data[start + lens[0]:start + lens[0] + lens[1]]
    fp = data[start + lens[0] + lens[1]:start + sum(lens)] if fingerprint else b""
    return text, photo, fp


def decode_address(data: bytes) -> str:
    """The appended address (30 03): 70 bytes UCS-2 LE. A longer answer is read for its first
    70 bytes, as the vendor SDK does (Synjones readAppendAdd), not refused."""
    if len(data) < 70:
        raise FrameError(f"appended address is {len(data)} bytes, expected 70")
    return _field(data, 0, 70)
