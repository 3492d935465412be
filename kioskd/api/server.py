"""The local API (HTTP + WebSocket) for kiosks, clerks, boards and technicians.

Every request but /api/health carries a bearer token; the token's role decides what it may do.
No role can submit a rating over HTTP: ratings come only from the pad bound to the window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from kioskd import __version__, cardwords, jsonlimits
from kioskd.api.pages import COOKIE, Pages
from kioskd.api.routes import ROUTES, Route, openapi
from kioskd.hall import issued_view
from kioskd.config import ApiClient
from kioskd.drivers.weblink import WebLink
from kioskd.engine import order, queue
from kioskd.engine.stats import day_stats, window_stats
from kioskd.errors import DeviceError, DiskFull, Refused
from kioskd.drivers.registry import Role

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")

CLIENT = web.RequestKey("client", ApiClient)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _refusal(status: int, code: str, message: str) -> web.HTTPException:
    """The same answer as `_error`, raised from a helper deep in a handler."""
    return _HTTP[status](text=json.dumps({"error": code, "message": message}), content_type="application/json")


_HTTP = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
         415: web.HTTPUnsupportedMediaType}


def _text(body: dict[str, Any], key: str, most: int, default: str | None = None) -> str | None:
    """A string field of a body, or a 400 naming the field (a list where a string belongs, a
    clerk name of 100 KB)."""
    value = body.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refusal(400, f"request.{key}", f"{key} must be a string")
    if len(value) > most:
        raise _refusal(400, f"request.{key}", f"{key} is at most {most} characters")
    return value


def _window_number(text: str | None) -> int | None:
    """A window number from a path: ASCII digits only (int() takes '٣', and refuses 5,000
    digits with a ValueError of its own), within what a hall has."""
    return int(text) if text and re.fullmatch(r"[0-9]{1,4}", text) else None


def _not_its_kiosk(client: ApiClient, kiosk: str | None) -> web.Response | None:
    """A kiosk's token acts for that kiosk only (its card, its printer, its tickets)."""
    if client.role == "kiosk" and kiosk != client.kiosk:
        return _error(403, "auth.kiosk", f"this token belongs to kiosk {client.kiosk}")
    return None


@web.middleware
async def _log_refusals(request: web.Request, handler):
    """One line per refused request, with its code: what a technician greps for."""
    try:
        resp = await handler(request)
    except DiskFull as exc:  # journal first: what cannot be made durable is not done
        resp = _error(503, exc.code, str(exc))
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


@dataclasses.dataclass
class _Stream:
    client: str
    queue: asyncio.Queue
    request: web.Request
    dropped: bool = False


class ApiServer:
    def __init__(self, hall: HallPort):
        self.hall = hall
        self.clients = hall.cfg.api.clients
        self._sockets: dict[web.WebSocketResponse, _Stream] = {}
        self.slow_dropped = 0  # event streams closed because their client did not read
        self._closing = False
        self.app = web.Application(middlewares=[_log_refusals, self._auth])
        r = self.app.router
        for route in ROUTES:  # the one table: the role is checked from it, the document made
            r.add_route(route.method, route.path, self._guarded(route))
        self.pages = Pages(self)
        self.pages.add_routes(r)
        self._runner: web.AppRunner | None = None

    async def start(self, port: int | None = None) -> str:
        """Listen (on `port` instead of the config's: a test restarts it where it was)."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        api = self.hall.cfg.api
        site = web.TCPSite(self._runner, api.host, api.port if port is None else port,
                           reuse_address=True)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # the real one when the config says 0
        self.hall.listen(self._broadcast)
        return f"http://{api.host}:{port}"

    async def stop(self) -> None:
        self._closing = True
        self.hall.watch.changed()  # the kiosks' waiting card requests answer now, not in 20 s
        self.hall.unlisten(self._broadcast)
        for ws in list(self._sockets):
            try:
                async with asyncio.timeout(2):
                    await ws.close()
            except TimeoutError:
                pass
        if self._runner:
            await self._runner.cleanup()

    # --- auth ------------------------------------------------------------------------------
    def client_for(self, token: str) -> ApiClient | None:
        for c in self.clients:
            if token and hmac.compare_digest(c.token.encode(), token.encode()):
                return c
        return self.hall.tablets.client_for(token)  # an enrolled rating tablet

    async def enroll_tablet(self, window: str, code: str) -> str:
        """A tablet's enrollment code (kioskd.tablets): its new token, audited; Refused."""
        n = _window_number(window)
        if n is None:
            raise Refused("tablet.unknown", "window numbers are 1 to 4 digits")
        found, token = self.hall.tablets.redeem(n, code)
        # the tablet enrolled before is out now: its page's socket goes with its token
        await self.hall.web_links.drop(found.device, "another tablet was enrolled")
        self.hall.record("tablet.enrolled", {"device": found.device, "window": found.window})
        return token

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path in OPEN_PATHS or Pages.is_page(request.path):
            return await handler(request)  # a page answers for itself: it says what to do
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("token", "")
        if not token and (token := request.cookies.get(COOKIE, "")):
            # a screen set up with its token: the cookie is SameSite=Strict, and a change asked
            # from another origin is refused all the same (a page elsewhere cannot act here)
            origin = request.headers.get("Origin")
            if request.method not in ("GET", "HEAD") and origin and \
                    origin.split("://", 1)[-1] != request.host:
                return _error(403, "auth.origin", "a request from another origin")
        client = self.client_for(token)
        if client is None:
            return _error(401, "auth.token", "a valid bearer token is required")
        request[CLIENT] = client
        return await handler(request)

    def _guarded(self, route: Route):
        """The route's handler behind its role check (401 was the auth middleware's)."""
        handler = getattr(self, route.handler)
        if route.roles is None:
            return handler

        async def guarded(request: web.Request) -> web.StreamResponse:
            client: ApiClient = request[CLIENT]
            if client.role not in route.roles:
                return _error(403, "auth.role", f"role {client.role!r} may not do this")
            return await handler(request)
        return guarded

    # --- handlers ------------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "hall": self.hall.cfg.hall.id, "version": __version__, **self.hall.health_view(),
            "events": {"streams": len(self._sockets), "slow_dropped": self.slow_dropped}})

    async def devices(self, request: web.Request) -> web.Response:
        return web.json_response({"devices": self.hall.devices_view()})

    async def queue(self, request: web.Request) -> web.Response:
        return web.json_response(queue.snapshot(self.hall.state))

    async def stats(self, request: web.Request) -> web.Response:
        """A day's statistics: today's from the queue, a past day's as the journal recorded it
        at that midnight (stats.daily), each with the day's alerts, missed and refused ratings
        counted from the journal."""
        state = self.hall.state
        day = request.query.get("day", state.day)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return _error(400, "request.day", "day is YYYY-MM-DD")
        if day == state.day:
            stats = day_stats(state)
        else:
            found = next((d for d in self.hall.past_days() if d["day"] == day), None)
            if found is None:
                return _error(404, "stats.no_day", f"the journal has no statistics of {day}")
            stats = {k: v for k, v in found.items() if k != "next_day"}
        nxt = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        stats["journal"] = self.hall.journal_counts(day, nxt, DAY_COUNTS)
        return web.json_response(stats)

    async def stats_days(self, request: web.Request) -> web.Response:
        """The days /api/stats can show: today, then the past days the journal still holds."""
        past = [d["day"] for d in self.hall.past_days()]
        return web.json_response({"today": self.hall.state.day, "days": past,
                                  "hall": self.hall.cfg.hall.name})

    async def tickets(self, request: web.Request) -> web.Response:
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        category, kiosk = _text(body, "category", 16), _text(body, "kiosk", 64, client.kiosk)
        if category is None:
            return _error(400, "request.category", "body needs {\"category\": \"A\"}")
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        place = {k.id: k for k in self.hall.cfg.kiosks}.get(kiosk) if kiosk else None
        if kiosk is not None and place is None:
            return _error(400, "request.kiosk", f"no kiosk {kiosk!r}")
        lane = _text(body, "priority", 16)
        if lane is not None and lane not in queue.REQUESTABLE_LANES:
            return _error(400, "request.priority",
                          f"priority is one of {', '.join(queue.REQUESTABLE_LANES)}")
        if lane is not None and place is not None and not place.guide:
            return _error(403, "request.priority_at_guide_desk",
                          f"{kiosk} is self-service: a priority lane is given at a guide desk, "
                          "where staff see the certificate")
        try:
            holder = self.hall.take_card(kiosk) if kiosk else None
            return self._issued(holder, *await self.hall.execute(
                queue.IssueTicket(category, kiosk, holder, lane)))
        except Refused as exc:
            zh, en = self._ticket_words(exc.code, category, self.hall.now())
            return web.json_response({"error": exc.code, "message": str(exc),
                                      "words": zh, "words_en": en}, status=409)

    async def kiosk_card(self, request: web.Request) -> web.Response:
        """What the kiosk page shows of the card on its reader: the masked name, the age and
        its lane, the keyed token; never the number. The card stays for the next ticket.
        `?seen=VERSION` waits (up to CARD_WAIT_S) until it differs from the page's: the page
        hears of a card as it is read, without polling."""
        client: ApiClient = request[CLIENT]
        kiosk = request.match_info["id"]
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        seen = request.query.get("seen")
        if seen is not None:
            try:
                await self.hall.watch.until(
                    lambda: self._closing or self._card_version(kiosk) != seen, CARD_WAIT_S,
                    "a kiosk card change")
            except TimeoutError:
                pass  # nothing new: the page asks again
        version = self._card_version(kiosk)
        card = self.hall.kiosk_cards.get(kiosk)
        # what the kiosk's gun did (an appointment QR checked in, or why not): shown once
        notice = self.hall.kiosk_notices.pop(kiosk, None) if client.role == "kiosk" else \
            self.hall.kiosk_notices.get(kiosk)
        if card is None:
            return web.json_response({"card": None, "notice": notice, "version": version})
        if card.error:
            zh, en = cardwords.words(card.error)
            return web.json_response({"card": {"error": card.error, "message": zh,
                                               "message_en": en}, "notice": notice,
                                      "version": version})
        h = card.holder
        return web.json_response({"card": {"name": h.masked_name, "age": h.age,
                                           "lane": queue.age_lane(self.hall.cfg.queue, h.age),
                                           "token": h.token}, "notice": notice,
                                  "version": version})

    def _card_version(self, kiosk: str) -> str:
        """What the kiosk's card answer depends on: the card (each read is a new one) and
        whether a notice is waiting."""
        card = self.hall.kiosk_cards.get(kiosk)
        return f"{card.at if card else 0}:{int(kiosk in self.hall.kiosk_notices)}"

    async def kiosk_forget(self, request: web.Request) -> web.Response:
        """The kiosk page went back home (the citizen left): the card read there is forgotten,
        not kept for whoever touches the screen next."""
        client: ApiClient = request[CLIENT]
        kiosk = request.match_info["id"]
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        return web.json_response({"forgotten": self.hall.kiosk_cards.pop(kiosk, None) is not None})

    async def kiosk_voice(self, request: web.Request) -> web.Response:
        """A kiosk prompt spoken by the hall's voice (elder mode), as a WAV for the kiosk's own
        speaker: the hall's speakers are for calls. Fixed prompts only (no text from a page
        reaches a speaker); `?ticket=` adds the number just taken."""
        client: ApiClient = request[CLIENT]
        kiosk = request.match_info["id"]
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        ticket = request.query.get("ticket", "")
        text = KIOSK_PROMPTS.get(request.match_info["prompt"])
        if text is None or not re.fullmatch(r"[A-Z0-9]{0,8}", ticket):
            return _error(404, "voice.prompt", f"prompts: {', '.join(KIOSK_PROMPTS)}")
        wav = await self.hall.speak_wav(text.format(ticket=" ".join(ticket)))
        return web.Response(body=wav, content_type="audio/wav",
                            headers={"Cache-Control": "private, max-age=3600"})

    async def kiosk_qr(self, request: web.Request) -> web.Response:
        """A ticket's QR drawn for the kiosk's screen (its printer is out: the citizen
        photographs it). Drawn here, by the library the printer's QR comes from: no script
        of the page draws codes, and the page never needs a CDN."""
        client: ApiClient = request[CLIENT]
        if (refused := _not_its_kiosk(client, request.match_info["id"])) is not None:
            return refused
        text = request.query.get("text", "")
        if not 0 < len(text) <= 300:
            return _error(400, "request.text", "text is 1-300 characters")
        svg = await asyncio.to_thread(_qr_svg, text)
        return web.Response(body=svg, content_type="image/svg+xml",
                            headers={"Cache-Control": "no-store"})

    async def checkin(self, request: web.Request) -> web.Response:
        """An appointment checks in: by its code (the QR on the booking), else by the ID card
        just read at the kiosk."""
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        kiosk = _text(body, "kiosk", 64, client.kiosk)
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        code = _text(body, "code", 64)
        try:
            holder = self.hall.take_card(kiosk) if kiosk else None
            return self._issued(holder, *await self.hall.execute(
                queue.CheckIn(kiosk, code, holder)))
        except Refused as exc:
            zh, en = cardwords.checkin_words(exc.code)
            return web.json_response({"error": exc.code, "message": str(exc), "words": zh,
                                      "words_en": en}, status=409)

    def _issued(self, holder, envs, results) -> web.Response:
        issued = next(e for e in envs if e.type == "ticket.issued")
        return web.json_response({
            # not printed: the kiosk shows the number and its QR on screen instead
            **issued_view(envs, results), "seq": issued.seq,
            "holder": holder.masked_name if holder else None,
            # the kiosk's screen tells staff: the hall runs on its reserve
            "warning": "disk.low" if self.hall.disk_low else None},
            status=201)

    async def kiosk(self, request: web.Request) -> web.Response:
        """A kiosk's own view of itself: whether its tickets print now (the page offers printed
        tickets only while they do, on-screen tickets otherwise)."""
        client: ApiClient = request[CLIENT]
        kiosk = request.match_info["id"]
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        place = next((k for k in self.hall.cfg.kiosks if k.id == kiosk), None)
        if place is None:
            return _error(404, "request.kiosk", f"no kiosk {kiosk!r}")
        h, state, now = self.hall.cfg.hall, self.hall.state, self.hall.now()
        return web.json_response({"id": place.id, "name": place.name, "guide": place.guide,
                                  "idle_s": place.idle_s,
                                  "printer": self.hall.kiosk_printer(kiosk),
                                  "hall": h.name, "timezone": h.timezone, "now": now.isoformat(),
                                  "categories": [self._offer(c, kiosk, now)
                                                 for c in state.categories]})

    def _offer(self, code: str, kiosk: str, now) -> dict[str, Any]:
        """One category as the kiosk's home screen offers it: its line and estimate, and
        whether a ticket without a card would be issued now (the engine decides: decide is
        pure, so asking issues nothing), and if not, why, in the citizen's words."""
        state = self.hall.state
        cat = state.categories[code]
        waiting = len(state.waiting((code,)))
        offer: dict[str, Any] = {"code": code, "name": cat.name, "waiting": waiting,
                                 "wait_min": order.estimated_wait(state, code, waiting),
                                 "available": True, "needs_card": cat.requires_id}
        try:
            queue.decide(state, queue.IssueTicket(code, kiosk), now)
        except Refused as exc:
            zh, en = self._ticket_words(exc.code, code, now)
            offer.update(available=False, reason=exc.code, message=zh, message_en=en)
        return offer

    def _ticket_words(self, code: str, category: str, now) -> tuple[str, str]:
        cat = self.hall.state.categories.get(category)
        hours = cat.hours if cat else None
        return cardwords.ticket_words(code, hours, bool(hours) and now.strftime("%H:%M") < hours[0],
                                      cat.per_person_daily if cat else None)

    async def reprint(self, request: web.Request) -> web.Response:
        """Print a ticket of today's again (the first print failed, or the citizen lost it),
        with its people-ahead count as of now."""
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        state = self.hall.state
        t = state.tickets.get(request.match_info["number"])
        if t is None or t.status in ("finished", "void"):
            return _error(404, "ticket.unknown", "no such ticket waiting today")
        kiosk = _text(body, "kiosk", 64, client.kiosk) or t.kiosk
        if (refused := _not_its_kiosk(client, kiosk)) is not None:
            return refused
        if kiosk not in {k.id for k in self.hall.cfg.kiosks}:
            return _error(400, "request.kiosk", "body needs {\"kiosk\": ...}")
        ahead = order.ahead_of(state, t.category, t.lane, t.order)
        text = self.hall.ticket_text(t.number, state.categories[t.category].name, ahead,
                                     order.estimated_wait(state, t.category, ahead),
                                     t.issued_at.isoformat())
        # the QR is the citizen's signed link to rate later: numbers are sequential, so it goes
        # only to the kiosk that issued the ticket (or a technician), never to any kiosk asking
        if client.role != "technician" and (t.kiosk is None or client.kiosk != t.kiosk):
            text = dataclasses.replace(text, qr="")
        result = await self.hall.print_at(kiosk, text)
        log.info("ticket %s reprinted at %s: %s", t.number, kiosk,
                 "printed" if result.get("printed") else result.get("error"))
        return web.json_response({"ticket": t.number, "printed": bool(result.get("printed")),
                                  "print_error": result.get("error"),
                                  "on_screen": not result.get("printed"),
                                  "qr": text.qr or None})

    async def appointments(self, request: web.Request) -> web.Response:
        """The hall's appointments, uploaded until central sends them. An item's `id_number`
        becomes the keyed token here and goes no further."""
        body = await self._json(request)
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return _error(400, "request.items", "body needs {\"version\", \"items\": [...]}")
        try:
            env = await self.hall.load_appointments(_text(body, "version", 64, "") or "", items)
        except Refused as exc:
            return _error(400, exc.code, str(exc))
        return web.json_response({"loaded": len(items), "seq": env.seq})

    async def window(self, request: web.Request) -> web.Response:
        client: ApiClient = request[CLIENT]
        n = _window_number(request.match_info["n"])
        if n is None:
            return _error(404, "window.unknown", "window numbers are 1 to 4 digits")
        if client.role == "clerk" and client.window != n:
            return _error(403, "auth.window", f"this token belongs to window {client.window}")
        body = await self._json(request)
        for key in ("ticket", "to_category", "case_no"):
            _text(body, key, 64)
        to_window = body.get("to_window")
        if to_window is not None and (not isinstance(to_window, int) or isinstance(to_window, bool)):
            return _error(400, "request.to_window", "to_window is a window number")
        if request.match_info["action"] in ("scan", "document"):
            return await self._scan(n, request.match_info["action"])
        if request.match_info["action"] == "ask-signature":
            try:
                env = await self.hall.signatures.ask(n, client.name)
            except Refused as exc:
                return _error(409, exc.code, str(exc))
            return web.json_response({"events": [env.to_dict()]})
        # a clerk signs in as themself; a technician may name the clerk; at the window's page
        # whoever works the window today types their 工号 (clerks move between windows)
        clerk = client.name if client.role == "clerk" else _text(body, "clerk", 32)
        typed = _text(body, "staff_no", 16)
        if typed is not None and request.match_info["action"] == "sign-in":
            clerk = next((c.name for c in self.hall.cfg.api.clients
                          if c.role == "clerk" and c.staff_no and c.staff_no == typed.strip()), None)
            if clerk is None:
                return _error(409, "window.staff_no", f"工号 {typed.strip()[:16]!r} is no clerk "
                                                      "of this hall")
        staff_no = next((c.staff_no for c in self.hall.cfg.api.clients
                         if c.role == "clerk" and c.name == clerk), "")
        cmd = queue.WindowAction(n, request.match_info["action"], ticket=body.get("ticket"),
                                 to_category=body.get("to_category"), to_window=to_window,
                                 clerk=clerk, staff_no=staff_no, case_no=body.get("case_no"))
        try:
            envs, _ = await self.hall.execute(cmd)
        except Refused as exc:
            status = 404 if exc.code in ("window.unknown", "window.action_unknown") else 409
            return _error(status, exc.code, str(exc))
        window = next(w for w in queue.snapshot(self.hall.state)["windows"] if w["number"] == n)
        return web.json_response({"events": [e.to_dict() for e in envs], "window": window})

    async def window_view(self, request: web.Request) -> web.Response:
        """What the clerk's page shows: the window, its current ticket, the tickets it would
        call in the order it would call them, the held and skipped it may call back, and
        today's figures of this window. No personal data but the masked name of the citizen
        at the window (张*, from the card read at the kiosk); lanes, never names or numbers."""
        client: ApiClient = request[CLIENT]
        n = _window_number(request.match_info["n"])
        state = self.hall.state
        if n is None or n not in state.windows:
            return _error(404, "window.unknown", "no such window")
        if client.role == "clerk" and client.window != n:
            return _error(403, "auth.window", f"this token belongs to window {client.window}")
        w, now = state.windows[n], self.hall.now()

        def row(t) -> dict[str, Any]:
            cat = state.categories[t.category]
            waited = int(((t.called_at or now) - t.issued_at).total_seconds() // 60)
            serving = int((now - t.started_at).total_seconds() // 60) if t.started_at else None
            # 限时办结: the category's limits, and whether this ticket is past one now
            over = (t.status == "waiting" and cat.wait_limit_min is not None
                    and waited >= cat.wait_limit_min) or \
                (t.status == "serving" and cat.service_limit_min is not None
                 and serving is not None and serving >= cat.service_limit_min)
            return {"ticket": t.number, "category": t.category, "category_name": cat.name,
                    "lane": t.lane, "status": t.status, "recalls": t.recalls,
                    "waited_min": waited, "serving_min": serving,
                    "wait_limit_min": cat.wait_limit_min,
                    "service_limit_min": cat.service_limit_min, "over_limit": over}

        current = state.tickets.get(w.current) if w.current else None
        if current is not None and current.status not in ("called", "serving"):
            current = None  # finished here: the window is free (its rating may still be asked)
        return web.json_response({
            "window": {"number": n, "name": w.rule.name, "state": w.state, "clerk": w.clerk,
                       "staff_no": w.staff_no, "awaiting_rating": w.awaiting_rating,
                       "categories": list(order.serves(state, w)[0])},
            # the one citizen at the window: the clerk greets them by the masked name (张*)
            "current": {**row(current), "name": self.hall.masked_names.get(current.number)}
            if current else None,
            "next": [row(t) for t in order.candidates(state, w)],
            "held": [row(t) for t in state.tickets.values() if t.status == "held"
                     and t.window == n],
            "skipped": [row(t) for t in state.tickets.values() if t.status == "skipped"
                        and order.can_call(state, w, t)],
            "categories": [{"code": c, "name": cat.name} for c, cat in state.categories.items()],
            "windows": sorted(state.windows),
            "today": window_stats(state, n),
            "tablet": self.hall.tablets.device_of_window(n) is not None,  # 请签名 possible
            "timezone": self.hall.cfg.hall.timezone, "now": now.isoformat()})

    async def rating_attempt(self, request: web.Request) -> web.Response:
        """No token rates, whatever its role: a rating comes only from the window's pad, sealed
        with the pad's key (工作人员不得代替服务对象作出评价). An attempt here is refused and
        audited with who tried, for central to follow up."""
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        ticket, level = body.get("ticket"), body.get("level")
        n = request.match_info.get("n")
        self.hall.refuse_rating(
            "rating.pad_only", via="api", client=client.name, role=client.role,
            window=_window_number(n) or client.window,
            ticket=ticket[:16] if isinstance(ticket, str) else None,
            level=level if isinstance(level, int) and not isinstance(level, bool) else None)
        return _error(403, "rating.pad_only", "only the citizen rates, on the window's pad")

    async def _scan(self, n: int, action: str) -> web.Response:
        """The window's document camera: `scan` captures the page under it now (a page that
        the automatic capture did not take); `document` makes one PDF of the pages since."""
        if action == "document":
            try:
                env = await self.hall.close_document(n)
            except Refused as exc:
                return _error(409, exc.code, str(exc))
            return web.json_response({"events": [env.to_dict()]})
        camera = self.hall.device_for(Role.CAMERA, window=n)
        if camera is None:
            return _error(404, "scan.no_camera", f"window {n} has no document camera")
        try:
            return web.json_response({"result": await camera.handle("capture")})
        except DeviceError as exc:
            return _error(409, exc.code, str(exc))

    async def device_command(self, request: web.Request) -> web.Response:
        dev_id = self._device(request)
        args = await self._json(request)
        try:
            return web.json_response({"result": await self.hall.device_action(
                dev_id, request.match_info["command"], args)})
        except DeviceError as exc:
            return _error(409, exc.code, str(exc))
        except Refused as exc:
            return _error(404, exc.code, str(exc))

    def _device(self, request: web.Request) -> str:
        dev_id = request.match_info["id"]
        if not self.hall.device_known(dev_id):
            raise web.HTTPNotFound(text=json.dumps({"error": "device.unknown",
                                                    "message": "no such device"}),
                                   content_type="application/json")
        return dev_id

    @staticmethod
    def _n(request: web.Request, default: int, most: int) -> int:
        try:
            return max(1, min(most, int(request.query.get("n", default))))
        except ValueError:
            return default

    async def device_frames(self, request: web.Request) -> web.Response:
        """The last frames exchanged with a device, as hex and decoded, personal data masked."""
        dev_id = self._device(request)
        frames = self.hall.device_frames(dev_id, self._n(request, 50, 100))
        return web.json_response({"device": dev_id, "frames": [
            {"at": f.at, "dir": f.direction, "hex": f.hex, "decoded": f.decoded}
            for f in frames]})

    async def device_last(self, request: web.Request) -> web.Response:
        """What a device last reported, as the technician may see it: a reader's card (masked
        fields), a pad's answer to a test prompt, a gun's or camera's codes (kind and length)."""
        return web.json_response(self.hall.device_last(self._device(request)))

    async def uplink(self, request: web.Request) -> web.Response:
        return web.json_response(self.hall.uplink_view())

    async def confirm_clock(self, request: web.Request) -> web.Response:
        """The technician checked the wall clock: the hall believes it again (audited)."""
        client: ApiClient = request[CLIENT]
        return web.json_response(self.hall.confirm_clock(client.name))

    async def logs(self, request: web.Request) -> web.Response:
        return web.json_response({"lines": self.hall.recent_logs(self._n(request, 200, 500))})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """The live stream. Each socket has its own bounded queue and one sender: a client
        that does not read is dropped (close 1013, counted), never buffered without end."""
        client: ApiClient = request[CLIENT]
        if sum(1 for s in self._sockets.values() if s.client == client.name) >= SOCKETS_PER_TOKEN:
            return _error(429, "events.too_many", f"{client.name} has {SOCKETS_PER_TOKEN} event "
                                                  "streams open already")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        stream = _Stream(client.name, asyncio.Queue(STREAM_QUEUE), request)
        self._sockets[ws] = stream
        sender = asyncio.create_task(self._send(ws, stream), name=f"events:{client.name}")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.pop(ws, None)
            sender.cancel()
        return ws

    @staticmethod
    async def _send(ws: web.WebSocketResponse, stream: "_Stream") -> None:
        while True:
            text = await stream.queue.get()
            if text is None:  # too slow: the client goes, with a close code that says why
                try:
                    async with asyncio.timeout(5):
                        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                except TimeoutError:
                    stream.request.transport.close()  # it reads nothing, not even the close
                return
            await ws.send_str(text)

    def _broadcast(self, env) -> None:
        text = env.to_json()
        for ws, stream in list(self._sockets.items()):
            if ws.closed or stream.dropped:
                continue
            try:
                stream.queue.put_nowait(text)
            except asyncio.QueueFull:
                stream.dropped = True
                self.slow_dropped += 1
                log.warning("events: %s reads too slowly (%d events behind): dropped",
                            stream.client, STREAM_QUEUE)
                stream.queue.get_nowait()  # room for the marker that closes it
                stream.queue.put_nowait(None)

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        """The body as a JSON object, or a 4xx that says what is wrong with it (never a 500:
        an unknown charset, bytes that are not UTF-8 and a nesting bomb included)."""
        if not request.can_read_body:
            return {}
        charset = (request.charset or "utf-8").lower().replace("_", "-")
        if charset not in ("utf-8", "utf8"):
            raise _refusal(415, "request.charset", f"the body must be UTF-8, not {charset[:40]!r}")
        try:
            body = jsonlimits.loads(await request.read())
        except jsonlimits.JsonRefused as exc:
            code = "request.json" if exc.code == "json.invalid" else \
                "request." + exc.code.split(".", 1)[1]
            raise _refusal(400, code, f"the body: {exc}") from None
        if not isinstance(body, dict):
            raise _refusal(400, "request.json", "the body must be a JSON object")
        return body

    # --- the rating tablet (pad.web) ---------------------------------------------------------------
    def _tablet(self, request: web.Request) -> tuple[ApiClient, Any]:
        """The pad.web device of the path, for its own tablet (or a technician)."""
        client: ApiClient = request[CLIENT]
        dev = self.hall.tablets.devices.get(request.match_info["id"])
        if dev is None:
            raise _refusal(404, "tablet.unknown", "no such pad.web device")
        if client.role == "pad" and client.name != dev.id:
            raise _refusal(403, "auth.pad", f"this token belongs to {client.name}")
        return client, dev

    async def pad_whoami(self, request: web.Request) -> web.Response:
        """The tablet's page learns which device its cookie makes it."""
        client: ApiClient = request[CLIENT]
        return web.json_response({"device": client.name, "window": client.window})

    async def pad_enroll(self, request: web.Request) -> web.Response:
        """A one-time code for enrolling a tablet (the technician types it on the tablet, or
        opens the URL there); audited."""
        client: ApiClient = request[CLIENT]
        try:
            offer = self.hall.tablets.offer(request.match_info["id"])
        except Refused as exc:
            return _error(404, exc.code, str(exc))
        self.hall.record("tablet.enroll_offered", {"device": offer.device, "window": offer.window,
                                                   "by": client.name})
        return web.json_response({"device": offer.device, "window": offer.window,
                                  "code": offer.code, "expires_in_s": offer.expires_in_s,
                                  "url": f"/pad/{offer.window}?enroll={offer.code}"})

    async def pad_key(self, request: web.Request) -> web.Response:
        """The tablet's key, to its own page, once after enrollment (kioskd.tablets)."""
        _, dev = self._tablet(request)
        try:
            return web.json_response({"key": self.hall.tablets.take_key(dev.id).hex()})
        except Refused as exc:
            return _error(409, exc.code, str(exc))

    async def pad_view(self, request: web.Request) -> web.Response:
        """What the tablet's idle screen shows: the window and who serves there; the five
        levels' reasons for a bad rating and the text limit."""
        _, dev = self._tablet(request)
        w = self.hall.state.windows[dev.window]
        h, rating = self.hall.cfg.hall, self.hall.cfg.rating
        return web.json_response({
            "device": dev.id, "window": dev.window, "window_name": w.rule.name, "clerk": w.clerk,
            "staff_no": w.staff_no, "photo": self._clerk_photo(w.clerk) is not None,
            "state": w.state, "hall": h.name, "timezone": h.timezone,
            "now": self.hall.now().isoformat(), "text_max": rating.text_max,
            "reasons": [{"code": r.code, "name": r.name} for r in rating.reasons]})

    def _clerk_photo(self, clerk: str | None):
        return next((c.photo for c in self.clients if c.role == "clerk" and c.name == clerk
                     and clerk), None)

    async def pad_photo(self, request: web.Request) -> web.StreamResponse:
        """The photo of the clerk signed in at the tablet's window, where configured."""
        _, dev = self._tablet(request)
        photo = self._clerk_photo(self.hall.state.windows[dev.window].clerk)
        if photo is None:
            return _error(404, "tablet.no_photo", "no photo for the clerk at this window")
        return web.FileResponse(photo, headers={"Cache-Control": "no-store"})

    async def pad_link(self, request: web.Request) -> web.StreamResponse:
        """The tablet's own socket: pad.mqtt's messages as text (drivers/weblink.py)."""
        _, dev = self._tablet(request)
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=1 << 20)
        await ws.prepare(request)
        link = WebLink(f"tablet page /pad/{dev.window}", ws.send_str, ws.close)
        old = self.hall.web_links.offer(dev.id, link)
        if old is not None:
            await old.close()  # a reloaded page: the newer socket is the tablet
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    link.incoming(msg.data.encode("utf-8"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            link.lost("the tablet's page closed")
            self.hall.web_links.withdraw(dev.id, link)
        return ws

    async def board(self, request: web.Request) -> web.Response:
        """What the hall TV shows: the hall board's view (the latest calls, newest first, and
        the waiting count of each category), with names masked only where the hall's own LED
        hall boards show them, and the hall's name and time zone for its clock."""
        view = self.hall.boards.screen_view(calls=6)
        h = self.hall.cfg.hall
        return web.json_response({"hall": h.name, "timezone": h.timezone,
                                  "now": self.hall.now().isoformat(), **view.as_json()})

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)


def _qr_svg(text: str) -> bytes:
    import io

    import qrcode
    import qrcode.image.svg

    out = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10,
                border=4).save(out)
    return out.getvalue()


OPENAPI: dict[str, Any] = openapi()
OPEN_PATHS = {r.path for r in ROUTES if r.roles is None}
