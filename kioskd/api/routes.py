"""The local API's routes, declared once: method, path, handler, who may call it, and what it
does. The server registers them from this table, checks the role from it before the handler
runs, and serves the OpenAPI document made from it: a route cannot be missing from the document,
nor its roles differ from what is enforced.

A handler still checks what only it can know: a kiosk's token acts for its own kiosk, a
clerk's for its own window, a tablet's for its own pad (`own` says which, for the document).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kioskd import __version__
from kioskd.config import ROLES
from kioskd.engine.queue import WINDOW_ACTIONS

ANY = ROLES  # any valid token
OPEN = None  # no token at all
KIOSK = ("kiosk", "technician")
CLERK = ("clerk", "technician")
TECH = ("technician",)
LOCKER = ("locker", "technician")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: str  # the ApiServer method
    roles: tuple[str, ...] | None  # who may call it; None: no token is needed
    summary: str
    own: str = ""  # a token of this role acts for its own place only (kiosk, window, pad)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/health", "health", OPEN, "Liveness and a device summary"),
    Route("GET", "/api/openapi.json", "openapi", OPEN, "This document"),
    Route("GET", "/api/devices", "devices", ANY, "Every device with its state and counters"),
    Route("GET", "/api/queue", "queue", ANY,
          "Waiting tickets with people ahead and estimated wait; windows"),
    Route("GET", "/api/stats", "stats", ANY,
          "A day's statistics per category, window, clerk and hour {?day=YYYY-MM-DD: a past day "
          "as the journal holds it}, with the day's alerts, missed and refused ratings"),
    Route("GET", "/api/stats/days", "stats_days", ANY, "The days /api/stats can show"),
    Route("POST", "/api/checkin", "checkin", KIOSK,
          "Appointment check-in {kiosk?, code?}; without a code the ID card on the kiosk's "
          "reader", "kiosk"),
    Route("GET", "/api/kiosks/{id}", "kiosk", KIOSK,
          "A kiosk: name, guide desk or not, idle_s, whether its tickets print now, and each "
          "category as its home screen offers it", "kiosk"),
    Route("GET", "/api/kiosks/{id}/card", "kiosk_card", KIOSK,
          "The card on a kiosk's reader: masked name, age, lane, keyed token; the gun's last "
          "check-in (notice); {?seen=VERSION} waits for a change", "kiosk"),
    Route("DELETE", "/api/kiosks/{id}/card", "kiosk_forget", KIOSK,
          "Forget the card (the citizen left)", "kiosk"),
    Route("GET", "/api/kiosks/{id}/voice/{prompt}", "kiosk_voice", KIOSK,
          "A kiosk prompt (home, card, checkin, take, refused) in the hall's voice, WAV; "
          "{?ticket=} for take", "kiosk"),
    Route("GET", "/api/kiosks/{id}/qr.svg", "kiosk_qr", KIOSK,
          "A ticket's QR as SVG {?text=}, for the kiosk's screen when its printer is out",
          "kiosk"),
    Route("POST", "/api/appointments", "appointments", TECH,
          "Upload appointments {version, items: [{code, category, start, end, id_number?}]}"),
    Route("POST", "/api/tickets", "tickets", KIOSK,
          "Issue a ticket {category, kiosk?, priority?}", "kiosk"),
    Route("POST", "/api/tickets/{number}/reprint", "reprint", KIOSK,
          "Print a waiting ticket again {kiosk?}; on_screen + qr when it cannot", "kiosk"),
    # before windows/{n}/{action}: these paths only refuse, and say so in the audit trail
    Route("POST", "/api/ratings", "rating_attempt", ANY,
          "Always refused (403 rating.pad_only) and audited: only the window's pad rates"),
    Route("POST", "/api/windows/{n}/rating", "rating_attempt", ANY,
          "Always refused (403 rating.pad_only) and audited"),
    Route("POST", "/api/windows/{n}/{action}", "window", CLERK,
          "Window action: " + ", ".join(WINDOW_ACTIONS) + "; ask-signature (请签名, on the "
          "window's tablet); scan (the document camera now), document (one PDF of the pages "
          "since the last); {staff_no} (工号) for sign-in, {ticket} for call and call-back, "
          "{to_category} or {to_window} for transfer, {case_no?} (办件编号) for finish. No "
          "action rates: only the window's pad does", "window"),
    Route("GET", "/api/windows/{n}", "window_view", CLERK,
          "The clerk's page: the window, its current ticket, what it would call next in order, "
          "held and skipped, today's figures", "window"),
    Route("POST", "/api/devices/{id}/{command}", "device_command", TECH,
          "A device action: test, reconnect, and the actions its family declares (GET "
          "/api/devices lists each device's, with its key; board show takes {text})"),
    Route("GET", "/api/devices/{id}/frames", "device_frames", TECH,
          "The last ?n= frames exchanged, hex and decoded, personal data masked"),
    Route("GET", "/api/devices/{id}/last", "device_last", TECH,
          "What a device last reported: a reader's card (masked), a pad's test answer, codes "
          "(kind and length)"),
    Route("GET", "/api/uplink", "uplink", TECH,
          "The central link: connected, backlog, acknowledged seq, reconnects, last error"),
    Route("POST", "/api/clock/confirm", "confirm_clock", TECH,
          "The wall clock is right: end a clock.suspect, the hall's day follows the clock again "
          "(audited as clock.confirmed)"),
    Route("GET", "/api/zones", "zones", ("manager", "technician"),
          "The 24-hour zones: each door's state, the count inside, an emergency opening"),
    Route("POST", "/api/zones/{id}/emergency", "zone_emergency", TECH,
          "Hold every door of the zone open {open: true, why} or let go {open: false, why}; "
          "audited (zone.emergency)"),
    Route("GET", "/api/lockers", "lockers", ("manager", "technician"),
          "Every locker bank: each compartment's size, state and door; what waits, for which "
          "window (never a code)"),
    Route("GET", "/api/lockers/{id}", "locker_view", LOCKER,
          "The locker's touch page: free compartments by size, the windows, a lock-out, the "
          "last card's outcome (notice)", "locker"),
    Route("POST", "/api/lockers/{id}/pickup", "locker_pickup", LOCKER,
          "取件: open the compartment a pickup code opens {code}; 5 wrong in a row lock the "
          "page for 5 minutes", "locker"),
    Route("POST", "/api/lockers/{id}/dropoff", "locker_dropoff", LOCKER,
          "寄件: a compartment opens for materials left for a window {window, size?}; the "
          "receipt", "locker"),
    Route("POST", "/api/lockers/{id}/deposit", "locker_deposit", CLERK,
          "出件: a compartment opens for a finished document {case, size?, window?}; closed, "
          "its pickup code goes to central as a hash (docs/central.md); the card of the ticket "
          "served at the window opens it too", "window"),
    Route("POST", "/api/lockers/{id}/collect", "locker_collect", CLERK,
          "A clerk takes out what waits for the window {compartment, window?}", "window"),
    Route("GET", "/api/logs", "logs", TECH, "The daemon's last ?n= log lines (ID numbers masked)"),
    Route("GET", "/api/events", "events", ANY, "WebSocket: the live event stream, MQTT envelope"),
    Route("GET", "/api/board", "board", ("board", "technician"),
          "The hall TV's view: latest calls (newest first), waiting per category, notice, the "
          "hall's name and time zone"),
    Route("GET", "/api/pads/whoami", "pad_whoami", ("pad",),
          "The rating tablet's own device and window"),
    Route("POST", "/api/pads/{id}/enroll", "pad_enroll", TECH,
          "A one-time enrollment code for a pad.web tablet (10 minutes, once)"),
    Route("GET", "/api/pads/{id}", "pad_view", ("pad", "technician"),
          "The tablet's idle view: window, clerk, 工号 and photo, reasons, text limit", "pad"),
    Route("POST", "/api/pads/{id}/key", "pad_key", ("pad",), "The enrolled tablet's key, once",
          "pad"),
    Route("GET", "/api/pads/{id}/photo", "pad_photo", ("pad", "technician"),
          "The photo of the clerk at the tablet's window, where configured", "pad"),
    Route("GET", "/api/pads/{id}/link", "pad_link", ("pad",),
          "WebSocket: the tablet's messages (docs/pad-web.md)", "pad"),
)


def _who(route: Route) -> str:
    if route.roles is None:
        return "none (no token)"
    if route.roles == ANY:
        return "any token"
    return ", ".join(f"{r} (its own)" if r == route.own else r for r in route.roles)


def openapi(routes: tuple[Route, ...] = ROUTES) -> dict[str, Any]:
    """The OpenAPI document of `routes`."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {
            "summary": route.summary, "description": f"Roles: {_who(route)}.",
            "responses": {"200": {"description": "OK"}}}
        if route.roles is None:
            op["security"] = []
        else:
            op["responses"].update({"401": {"description": "no valid token"},
                                    "403": {"description": "role not allowed"}})
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "kioskd local API", "version": __version__},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}], "paths": paths}
