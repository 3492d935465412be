"""The hall's screens, served by the daemon itself: no CDN, no build step, nothing the hall's
closed network cannot reach. A page is a client of the local API and `WS /api/events` like any
other; it never reaches into the daemon another way.

A screen is set up once: its URL with `?token=TOKEN` (the token of an `[[api.client]]` whose
role may open that page). The daemon keeps the token in an HttpOnly cookie, SameSite=Strict,
and redirects to the bare URL, so the token is neither in the address bar nor readable by the
page's scripts. A page without a valid token says so, and what to do, in words."""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from kioskd.errors import Refused

STATIC = Path(__file__).parent / "static"
COOKIE = "kioskd_token"
# page -> the roles whose token opens it (a kiosk's or clerk's token opens only its own)
PAGES = {"board": ("board", "technician"), "kiosk": ("kiosk", "technician"),
         "window": ("clerk", "technician"), "manage": ("manager", "technician"),
         "pad": ("pad",), "locker": ("locker", "technician")}
ROUTES = {"board": "/board", "kiosk": "/kiosk/{id}", "window": "/window/{n}", "manage": "/manage",
          "pad": "/pad/{n}", "locker": "/locker/{id}"}
ASSETS = {p.name for p in STATIC.iterdir() if p.suffix in (".js", ".css", ".svg")}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# the pages load only their own files and talk only to their own daemon
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; media-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")

NOT_SET_UP = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>此屏幕尚未配置 / This screen is not set up</title>
<link rel="stylesheet" href="/static/screens.css"></head>
<body class="not-set-up"><main>
<h1>此屏幕尚未配置</h1>
<p class="en" lang="en">This screen is not set up.</p>
<p>{why_zh}</p><p class="en" lang="en">{why_en}</p>
<h2>技术人员请 <span class="en" lang="en">For the technician</span></h2>
{steps}<p><code>kioskd sim</code> 会打印示例大厅每个屏幕的地址。
<span class="en" lang="en"><code>kioskd sim</code> prints every screen's address for the
example hall.</span></p>
</main></body></html>
"""

TOKEN_STEPS = """<ol><li>在 devices.toml 中为此屏幕设一个 [[api.client]]，role 为 {roles}。
<span class="en" lang="en">Give this screen an [[api.client]] in devices.toml with role {roles}.</span></li>
<li>在此屏幕上打开一次 <code>{path}?token=令牌</code>，之后不再需要令牌。
<span class="en" lang="en">Open <code>{path}?token=TOKEN</code> once on this screen; it is
remembered after that.</span></li></ol>
"""

# a rating tablet is enrolled, not given a token: a technician asks for a one-time code
ENROLL_STEPS = """<ol><li>技术人员在控制台（kioskd diag）选中此窗口的评价平板，按 n 获取登记码；或
<code>POST /api/pads/设备/enroll</code>。
<span class="en" lang="en">The technician selects this window's tablet in the console
(kioskd diag) and presses n for an enrollment code, or calls
<code>POST /api/pads/DEVICE/enroll</code>.</span></li>
<li>在此平板上输入登记码（10 分钟内有效，只能用一次）。
<span class="en" lang="en">Type the code on this tablet (good for 10 minutes, once).</span></li></ol>
<form method="post" action="{path}/enroll" class="enroll">
<label for="code">登记码 <span class="en" lang="en">Enrollment code</span></label>
<input id="code" name="code" inputmode="numeric" autocomplete="off" maxlength="8" required>
<button type="submit">登记 <span class="en" lang="en">Enroll</span></button></form>
"""


TABLET_WORDS = {"tablet.unknown": "这个窗口没有配置评价平板（pad.web）。",
                "tablet.no_code": "没有待用的登记码：请技术人员重新获取。",
                "tablet.bad_code": "登记码不正确，请重新输入。",
                "tablet.code_void": "登记码错误次数过多，已作废：请技术人员重新获取。"}


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": _CSP, "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class Pages:
    def __init__(self, server) -> None:
        self.server = server

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for name, route in ROUTES.items():
            router.add_get(route, self.page, name=f"page-{name}")
        router.add_post("/pad/{n}/enroll", self.enroll)
        router.add_get("/static/{name}", self.asset)

    @staticmethod
    def is_page(path: str) -> bool:
        return path.startswith("/static/") or path.strip("/").split("/")[0] in PAGES

    @staticmethod
    def opens(client, name: str, request: web.Request) -> bool:
        if client is None or client.role not in PAGES[name]:
            return False
        if name == "kiosk" and client.role == "kiosk":
            return client.kiosk == request.match_info["id"]
        if name == "locker" and client.role == "locker":
            return client.locker == request.match_info["id"]
        if (name == "window" and client.role == "clerk") or name == "pad":
            return str(client.window) == request.match_info["n"]
        return True

    async def page(self, request: web.Request) -> web.StreamResponse:
        name = request.path.strip("/").split("/")[0]
        roles = PAGES[name]
        if name == "pad" and "enroll" in request.query:
            return await self._enrolled(request, request.query["enroll"])
        token = request.query.get("token")
        if token is not None:
            client = self.server.client_for(token)
            if not self.opens(client, name, request):
                return self._not_set_up(request, roles, offered=True)
            # set up: the token goes into a cookie the page's scripts cannot read, and out of
            # the address bar (and so out of the screen's history and any photo of it)
            moved = web.HTTPSeeOther(location=request.path, headers=_headers())
            moved.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                             max_age=10 * 365 * 24 * 3600)
            raise moved
        client = self.server.client_for(request.cookies.get(COOKIE, ""))
        if not self.opens(client, name, request):
            return self._not_set_up(request, roles, offered=False)
        return web.FileResponse(STATIC / f"{name}.html", headers=_headers())

    async def enroll(self, request: web.Request) -> web.StreamResponse:
        """The code typed on the tablet's not-set-up page."""
        form = await request.post()
        code = form.get("code")
        return await self._enrolled(request, code if isinstance(code, str) else "",
                                    page=request.path.rsplit("/", 1)[0])

    async def _enrolled(self, request: web.Request, code: str,
                        page: str | None = None) -> web.Response:
        """A tablet gives its enrollment code: its own token into the cookie (the key is
        fetched by the page, once), then the bare page. A wrong code says what to do."""
        page = page or request.path
        n = page.rsplit("/", 1)[-1]
        try:
            token = await self.server.enroll_tablet(n, code[:16])
        except Refused as exc:
            return self._not_set_up(request, PAGES["pad"], offered=True, path=page,
                                    why=(TABLET_WORDS.get(exc.code, "登记未成功。"), str(exc)))
        moved = web.HTTPSeeOther(location=page, headers=_headers())
        moved.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                         max_age=10 * 365 * 24 * 3600)
        raise moved

    @staticmethod
    def _not_set_up(request: web.Request, roles: tuple[str, ...], offered: bool,
                    path: str | None = None, why: tuple[str, str] | None = None) -> web.Response:
        if why is None and offered:
            why = ("此令牌无效，或不能打开这个屏幕。", "That token is not valid, or may not open this screen.")
        elif why is None:
            why = ("这台设备还没有这个屏幕的令牌。", "This device has no token for this screen yet.")
        path = html.escape(path or request.path)
        steps = ENROLL_STEPS if roles == PAGES["pad"] else TOKEN_STEPS
        body = NOT_SET_UP.format(why_zh=html.escape(why[0]), why_en=html.escape(why[1]),
                                 path=path,
                                 steps=steps.format(path=path,
                                                    roles=" / ".join(f'"{r}"' for r in roles)))
        # a wrong token offered leaves a screen's own cookie alone: a mistyped URL on a screen
        # that is set up must not take it out of service
        return web.Response(text=body, status=401, content_type="text/html", headers=_headers())

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS:  # a fixed set: no path from a request reaches the file system
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers={
            "Content-Type": _TYPES[Path(name).suffix], "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff"})
