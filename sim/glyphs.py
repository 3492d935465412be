"""Text on the twins' pictures (the camera's pages, the printer's paper) with or without a CJK
font: Debian's fonts-wqy-microhei (or Noto CJK) when the machine has one, else what needs no
font file — Pillow's built-in font for ASCII and a hollow square, the glyph's size, for each
other character. `make run` needs no system font this way: the pictures are only for people
and for the QR decoders, and the QR codes are drawn the same either way."""

from __future__ import annotations

import os
from functools import lru_cache

FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
         "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def cjk_font_path() -> str | None:
    return next((p for p in FONTS if os.path.exists(p)), None)


@lru_cache(maxsize=32)
def _truetype(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


@lru_cache(maxsize=32)
def _builtin(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size)


def text_width(text: str, size: int) -> int:
    if (path := cjk_font_path()) is not None:
        return int(_truetype(path, size).getbbox(text)[2]) if text else 0
    return sum(_glyph_width(ch, size) for ch in text)


def draw_text(draw, xy: tuple[int, int], text: str, size: int, fill, bold: bool = False) -> None:
    """`text` at `xy` (its top left), `size` pixels high."""
    if (path := cjk_font_path()) is not None:
        draw.text(xy, text, font=_truetype(path, size), fill=fill,
                  stroke_width=1 if bold else 0, stroke_fill=fill)
        return
    x, y = xy
    for ch in text:
        w = _glyph_width(ch, size)
        if ch.isascii():
            draw.text((x, y), ch, font=_builtin(size), fill=fill,
                      stroke_width=1 if bold else 0, stroke_fill=fill)
        elif not ch.isspace():
            m = max(1, size // 8)  # a hollow square: a character is here, which one is not drawn
            draw.rectangle((x + m, y + m, x + w - m, y + size - m), outline=fill,
                           width=2 if bold else 1)
        x += w


def _glyph_width(ch: str, size: int) -> int:
    if ch.isascii():
        return int(_builtin(size).getlength(ch))
    return size  # a CJK character (or a full-width sign) is as wide as it is high
