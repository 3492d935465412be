"""The kiosk's answers: tickets, the card on its reader, check-in, its voice and QR, reprints,
appointments."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kioskd import cardwords
from kioskd.api.http import CLIENT, error, not_its_kiosk, text_field
from kioskd.config import ApiClient
from kioskd.engine import order, queue
from kioskd.errors import Refused
from kioskd.hall import issued_view

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")


# what the kiosk says aloud in elder mode (适老化), in the hall's voice
KIOSK_PROMPTS = {"home": "您好，请选择要办理的业务，或将身份证放在读卡区",
                 "card": "请将身份证放在读卡区",
                 "checkin": "请扫描预约二维码，或输入预约号",
                 "take": "请取走您的号票，您的号码是 {ticket}",
                 "refused": "暂时无法取号，请到咨询引导台"}

# the engine's refusals of what a client may not ask for at all (not of the hall's state)
FORBIDDEN = frozenset({"request.priority_at_guide_desk"})
CARD_WAIT_S = 20  # a kiosk's card request waits this long for a change (below proxies' 30-60 s)


class KioskHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    async def tickets(self, request: web.Request) -> web.Response:
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        category, kiosk = text_field(body, "category", 16), text_field(body, "kiosk", 64, client.kiosk)
        if category is None:
            return error(400, "request.category", "body needs {\"category\": \"A\"}")
        if (refused := not_its_kiosk(client, kiosk)) is not None:
            return refused
        place = {k.id: k for k in self.hall.cfg.kiosks}.get(kiosk) if kiosk else None
        if kiosk is not None and place is None:
            return error(400, "request.kiosk", f"no kiosk {kiosk!r}")
        lane = text_field(body, "priority", 16)
        if lane is not None and lane not in queue.REQUESTABLE_LANES:
            return error(400, "request.priority",
                          f"priority is one of {', '.join(queue.REQUESTABLE_LANES)}")
        try:
            holder = self.hall.take_card(kiosk) if kiosk else None
            return self._issued(holder, *await self.hall.execute(
                queue.IssueTicket(category, kiosk, holder, lane)))
        except Refused as exc:
            zh, en = self._ticket_words(exc.code, category, self.hall.now())
            return web.json_response({"error": exc.code, "message": str(exc),
                                      "words": zh, "words_en": en},
                                     status=403 if exc.code in FORBIDDEN else 409)

    async def kiosk_card(self, request: web.Request) -> web.Response:
        """What the kiosk page shows of the card on its reader: the masked name, the age and
        its lane, the keyed token; never the number. The card stays for the next ticket.
        `?seen=VERSION` waits (up to CARD_WAIT_S) until it differs from the page's: the page
        hears of a card as it is read, without polling."""
        client: ApiClient = request[CLIENT]
        kiosk = request.match_info["id"]
        if (refused := not_its_kiosk(client, kiosk)) is not None:
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
        if (refused := not_its_kiosk(client, kiosk)) is not None:
            return refused
        return web.json_response({"forgotten": self.hall.kiosk_cards.pop(kiosk, None) is not None})

    async def kiosk_voice(self, request: web.Request) -> web.Response:
        """A kiosk prompt spoken by the hall's voice (elder mode), as a WAV for the kiosk's own
        speaker: the hall's speakers are for calls. Fixed prompts only (no text from a page
        reaches a speaker); `?ticket=` adds the number just taken."""
        client: ApiClient = request[CLIENT]
        kiosk = request.match_info["id"]
        if (refused := not_its_kiosk(client, kiosk)) is not None:
            return refused
        ticket = request.query.get("ticket", "")
        text = KIOSK_PROMPTS.get(request.match_info["prompt"])
        if text is None or not re.fullmatch(r"[A-Z0-9]{0,8}", ticket):
            return error(404, "voice.prompt", f"prompts: {', '.join(KIOSK_PROMPTS)}")
        wav = await self.hall.speak_wav(text.format(ticket=" ".join(ticket)))
        return web.Response(body=wav, content_type="audio/wav",
                            headers={"Cache-Control": "private, max-age=3600"})

    async def kiosk_qr(self, request: web.Request) -> web.Response:
        """A ticket's QR drawn for the kiosk's screen (its printer is out: the citizen
        photographs it). Drawn here, by the library the printer's QR comes from: no script
        of the page draws codes, and the page never needs a CDN."""
        client: ApiClient = request[CLIENT]
        if (refused := not_its_kiosk(client, request.match_info["id"])) is not None:
            return refused
        text = request.query.get("text", "")
        if not 0 < len(text) <= 300:
            return error(400, "request.text", "text is 1-300 characters")
        svg = await asyncio.to_thread(_qr_svg, text)
        return web.Response(body=svg, content_type="image/svg+xml",
                            headers={"Cache-Control": "no-store"})

    async def checkin(self, request: web.Request) -> web.Response:
        """An appointment checks in: by its code (the QR on the booking), else by the ID card
        just read at the kiosk."""
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        kiosk = text_field(body, "kiosk", 64, client.kiosk)
        if (refused := not_its_kiosk(client, kiosk)) is not None:
            return refused
        code = text_field(body, "code", 64)
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
        if (refused := not_its_kiosk(client, kiosk)) is not None:
            return refused
        place = next((k for k in self.hall.cfg.kiosks if k.id == kiosk), None)
        if place is None:
            return error(404, "request.kiosk", f"no kiosk {kiosk!r}")
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
        waiting = state.waiting_count(code)
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
        try:
            t = queue.standing(self.hall.state, request.match_info["number"])
        except Refused as exc:
            return error(404, exc.code, str(exc))
        kiosk = text_field(body, "kiosk", 64, client.kiosk) or t.kiosk
        if (refused := not_its_kiosk(client, kiosk)) is not None:
            return refused
        if kiosk not in {k.id for k in self.hall.cfg.kiosks}:
            return error(400, "request.kiosk", "body needs {\"kiosk\": ...}")
        text = self.hall.ticket_text(t.number, t.category_name, t.ahead, t.wait_min, t.issued_at)
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
            return error(400, "request.items", "body needs {\"version\", \"items\": [...]}")
        try:
            env = await self.hall.load_appointments(text_field(body, "version", 64, "") or "", items)
        except Refused as exc:
            return error(400, exc.code, str(exc))
        return web.json_response({"loaded": len(items), "seq": env.seq})


def _qr_svg(text: str) -> bytes:
    import io

    import qrcode
    import qrcode.image.svg

    out = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10,
                border=4).save(out)
    return out.getvalue()
