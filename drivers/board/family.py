"""LED queue boards: Onbon BX-5K/6K cards (board.bx) and boards on the hall's broker."""

from __future__ import annotations

from typing import Any

from kioskd.drivers.board import bx  # pure codec tables
from kioskd.drivers.family import Action, DeviceType, EntryCheck, Role
from kioskd.drivers.options import MQTT, Option, ms, mqtt_login, table


def onbon_card(opts: dict[str, Any], dev: Any, check: EntryCheck) -> None:
    """An Onbon card: a BX-5K/6K model (another family speaks another protocol), x and width in
    its unit, and no run mode that makes the text vanish."""
    card = opts.get("card", "auto")
    if card in bx.OTHER_FAMILIES:
        check.bad("card", f"{card} speaks another Onbon protocol ({bx.OTHER_FAMILIES[card]}): "
                          "board.bx drives BX-5K/6K cards")
    elif card != "auto" and card not in bx.CARDS:
        check.bad("card", f"{card!r} is not a BX-5K/6K card: auto or one of "
                          f"{', '.join(bx.CARDS)}")
    unit = bx.configured_unit(card, opts.get("area_unit"))
    width = opts.get("width_px")
    if unit == bx.UNIT_8PX and width is not None and width % 8:
        check.bad("width_px", f"{width} is not a multiple of 8: "
                              f"{card if card in bx.CARDS else 'this card'} counts width in 8 px")
    mode, timeout = opts.get("run_mode", 0), opts.get("area_timeout_s", 5)
    if mode in (2, 3, 5) and timeout == 0:
        check.bad("area_timeout_s", f"0 with run_mode {mode}: the card would drop the text at "
                                    "once (the vendor default is run_mode 0, 5 s)")


# what a board shows: a window board its window's line, a hall board (hall = true) the latest
# calls and the waiting counts; its size in pixels, one text line each line_px
BOARD = table(
    Option("idle_text", str, None, "a window board's line when nobody is called "
                                   "(default \"{window}号窗口 欢迎您\")"),
    Option("paused_text", str, None, "its line while the window is paused (default 暂停服务)"),
    Option("calls", int, 5, "a hall board: how many latest calls it lists", 1, 20),
    Option("names", str, "none", "a hall board: show the masked name (张*) beside each call",
           choices=("none", "masked")),
    Option("notice", str, "", "a hall board: the notice under the calls"),
    Option("width_px", int, None, "width in pixels (default 64; a hall board 192)", 16, 4096),
    Option("height_px", int, None, "height in pixels (default 32; a hall board 96)", 8, 2048),
    Option("line_px", int, 16, "one text line's height", 8, 256),
    ms("timeout_ms", 1000, "an answer's time-out"),
)
ACTIONS = (Action("p", "pattern", "Test pattern"), Action("w", "show", "Write text"),
           Action("x", "restore", "Restore"))

TYPES = (
    DeviceType(
        "board.bx", Role.BOARD, ("window", "hall"), ("serial", "tcp"),
        {**BOARD, **table(
            Option("address", int, 1, "the card's screen address", 0, 65535),
            Option("encoding", str, "gb2312", "the text's encoding", encoding=True),
            Option("card", str, "auto", "the card's model (BX-6K1 …), auto to ask it"),
            Option("area_unit", str, None, "how the card counts x and width (default: the "
                                           "card's)", choices=bx.UNITS),
            Option("run_mode", int, 0, "what the card does when the text is shown", 0, 5),
            Option("area_timeout_s", int, 5, "how long it shows it", 0, 65535, "s"),
            Option("align", str, "left", "the text's alignment", choices=tuple(bx.ALIGNS)))},
        "kioskd.drivers.board.driver:BxBoardDriver", rules=(onbon_card,), actions=ACTIONS),
    DeviceType(
        "board.mqtt", Role.BOARD, ("window", "hall"), ("mqtt", "mqtts"),
        {**BOARD, **MQTT, **table(ms("ping_ms", 5000, "how often the board is pinged"))},
        "kioskd.drivers.board.driver:MqttBoardDriver", rules=(mqtt_login,), actions=ACTIONS),
)
