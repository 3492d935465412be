"""What every handler shares: the client on a request, error answers, and the checks of a
request's fields."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import web

from kioskd.config import ApiClient
from kioskd.errors import DiskFull

log = logging.getLogger("kioskd.api")


CLIENT = web.RequestKey("client", ApiClient)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def refusal(status: int, code: str, message: str) -> web.HTTPException:
    """The same answer as `_error`, raised from a helper deep in a handler."""
    return _HTTP[status](text=json.dumps({"error": code, "message": message}), content_type="application/json")


_HTTP = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
         415: web.HTTPUnsupportedMediaType}


def text_field(body: dict[str, Any], key: str, most: int, default: str | None = None) -> str | None:
    """A string field of a body, or a 400 naming the field (a list where a string belongs, a
    clerk name of 100 KB)."""
    value = body.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise refusal(400, f"request.{key}", f"{key} must be a string")
    if len(value) > most:
        raise refusal(400, f"request.{key}", f"{key} is at most {most} characters")
    return value


def window_number(text: str | None) -> int | None:
    """A window number from a path: ASCII digits only (int() takes '٣', and refuses 5,000
    digits with a ValueError of its own), within what a hall has."""
    return int(text) if text and re.fullmatch(r"[0-9]{1,4}", text) else None


def not_its_kiosk(client: ApiClient, kiosk: str | None) -> web.Response | None:
    """A kiosk's token acts for that kiosk only (its card, its printer, its tickets)."""
    if client.role == "kiosk" and kiosk != client.kiosk:
        return error(403, "auth.kiosk", f"this token belongs to kiosk {client.kiosk}")
    return None


@web.middleware
async def log_refusals(request: web.Request, handler):
    """One line per refused request, with its code: what a technician greps for."""
    try:
        resp = await handler(request)
    except DiskFull as exc:  # journal first: what cannot be made durable is not done
        resp = error(503, exc.code, str(exc))
    except web.HTTPException as exc:
        if 400 <= exc.status < 500:
            _log_refusal(request, exc.status, exc.text or "")
        raise
    if 400 <= resp.status < 500:
        _log_refusal(request, resp.status, getattr(resp, "text", None) or "")
    return resp


def _log_refusal(request: web.Request, status: int, text: str) -> None:
    try:
        code = json.loads(text).get("error", "")
    except (ValueError, AttributeError):
        code = ""
    log.info("api: %s %s refused: %d %s", request.method, request.path[:80], status, code)


# what the kiosk says aloud in elder mode (适老化), in the hall's voice
KIOSK_PROMPTS = {"home": "您好，请选择要办理的业务，或将身份证放在读卡区",
                 "card": "请将身份证放在读卡区",
                 "checkin": "请扫描预约二维码，或输入预约号",
                 "take": "请取走您的号票，您的号码是 {ticket}",
                 "refused": "暂时无法取号，请到咨询引导台"}

# what the manager's page counts from the journal for a day
DAY_COUNTS = ("alert.raised", "rating.missed", "rating.refused")
CARD_WAIT_S = 20  # a kiosk's card request waits this long for a change (below proxies' 30-60 s)
SOCKETS_PER_TOKEN = 4  # a page, its reload, the console: more is a leak or a flood
STREAM_QUEUE = 500  # events a socket may fall behind before it is dropped (~150 KB)
