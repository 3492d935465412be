"""What a citizen reads at a kiosk when the card on its reader cannot be used, or a ticket
cannot be issued, by the stable code: Chinese first, then English. A kiosk page shows it as it
is; nothing here is personal."""

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
    # a social-security card on the contact reader (cardreader.pcsc)
    "card.pin_required": ("此社保卡需要密码，请改用身份证或到咨询引导台办理",
                          "This card asks for its PIN: please use your ID card, or ask at the "
                          "guide desk."),
    "card.unsupported": ("此卡不是社保卡，请放置社保卡或身份证",
                         "This is not a social-security card: please use that or your ID card."),
    "card.removed": ("读卡时卡被取出，请重新插入", "The card was taken out too soon: please insert "
                                                  "it again."),
    "card.expired": ("社保卡已过有效期，请改用身份证或到咨询引导台办理",
                     "This social-security card has expired: please use your ID card."),
    # a card at the 24-hour zone's door (kioskd.zone)
    "zone.closed": ("自助区现在不开放", "The self-service zone is closed now."),
    "zone.denied": ("此卡不能进入自助区，请在工作时间到咨询引导台",
                    "This card cannot open the zone: please ask at the guide desk in opening "
                    "hours."),
    "zone.door_lost": ("门禁暂时故障，请稍后再试", "The door is out of order: please try later."),
    "zone.door_fault": ("门禁暂时故障，请稍后再试", "The door is out of order: please try later."),
}


def words(code: str) -> tuple[str, str]:
    """(Chinese, English) for a card error code; a read that failed midway: place it again."""
    return WORDS.get(code, PLACE_AGAIN)


ASK_STAFF = ("暂时无法取号，请到咨询引导台", "No ticket can be issued now: please ask at the guide desk.")


CHECKIN: dict[str, tuple[str, str]] = {
    "appointment.unknown": ("未找到此预约，请核对预约号或到咨询引导台",
                            "No appointment with this code: check it, or ask at the guide desk."),
    "appointment.not_today": ("您的预约不是今天，请按预约日期前来",
                              "Your appointment is on another day."),
    "appointment.used": ("此预约已签到，请勿重复取号", "This appointment has checked in already."),
    "appointment.too_early": ("还未到签到时间，请稍后再来签到",
                              "Check-in for your appointment has not opened yet."),
}


def checkin_words(code: str) -> tuple[str, str]:
    """(Chinese, English) for a refused appointment check-in (by QR, code or card)."""
    return CHECKIN.get(code, ASK_STAFF)


def ticket_words(code: str, hours: tuple[str, str] | None = None, before_open: bool = False,
                 per_person: int | None = None) -> tuple[str, str]:
    """(Chinese, English) for a refused ticket, from the engine's code and the category's
    rules; anything a citizen cannot act on sends them to the guide desk."""
    if code == "category.closed" and hours:
        if before_open:
            return (f"未到取号时间，{hours[0]} 开始取号", f"Tickets from {hours[0]}.")
        return (f"今日取号已结束（{hours[0]}-{hours[1]}）",
                f"No more tickets today (issued {hours[0]}-{hours[1]}).")
    if code == "category.quota":
        return ("今日号已取完", "Today's tickets are all taken.")
    if code == "category.requires_id":
        return ("请先在读卡区放置身份证", "Place your ID card on the reader first.")
    if code == "category.per_person":
        return (f"您今日已取过此类号（每人每天 {per_person or 1} 张）",
                f"You have taken today's ticket of this kind ({per_person or 1} a day).")
    return ASK_STAFF
