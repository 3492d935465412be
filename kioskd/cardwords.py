"""What a citizen reads when the card on a kiosk's reader cannot be used, by the card error's
stable code: Chinese first, then English. A kiosk page shows it as it is; nothing here is
personal."""

from __future__ import annotations

PLACE_AGAIN = ("未能读取证件，请重新放置", "The card could not be read: please place it again.")

WORDS: dict[str, tuple[str, str]] = {
    # the 2023 foreign permanent residence card ('Y'): its layout is not established, so it is
    # refused rather than guessed, and the citizen is sent where staff can help
    "idcard.card_type_unsupported": ("此证件暂不能在本机读取，请到咨询引导台办理",
                                     "This card cannot be read here: please ask at the guide desk."),
    "idcard.card_type_unknown": ("无法识别此证件，请到咨询引导台办理",
                                 "This card is not recognised: please ask at the guide desk."),
    "idcard.expired": ("证件已过有效期，请到咨询引导台办理",
                       "This card has expired: please ask at the guide desk."),
    "idcard.bad_check_digit": ("证件号码校验未通过，请到咨询引导台办理",
                               "This card's number does not check: please ask at the guide desk."),
}


def words(code: str) -> tuple[str, str]:
    """(Chinese, English) for a card error code; a read that failed midway: place it again."""
    return WORDS.get(code, PLACE_AGAIN)
