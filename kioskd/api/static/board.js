// The hall TV (综合屏): the latest calls, newest first, the newest highlighted for a few seconds
// when it arrives live (never on a reload or a reconnect: an old call is not news); the waiting
// count of each category; the hall's notice; the hall's clock in its time zone. Data from
// GET /api/board, changes from WS /api/events; both authorised by the screen's cookie.
"use strict";

const HIGHLIGHT_MS = 8000;
const REFRESH_ON = /^(ticket|service|window|appointment|stats)\./;
let highlight = null; // {ticket, until}


function render(view) {
  $("hall").textContent = view.hall;
  document.title = `${view.hall} 叫号大屏`;
  hallClock.set(view.timezone, view.now);
  const calls = $("calls");
  calls.replaceChildren();
  if (!view.calls.length) calls.append(el("li", "empty", "暂无叫号"));
  const now = Date.now();
  for (const c of view.calls) {
    const li = el("li");
    li.dataset.ticket = c.ticket;
    li.append(el("span", "ticket", c.ticket));
    if (c.name) li.append(el("span", "name", c.name));
    const to = el("span", "to", `请到 ${c.window} 号窗口`);
    const en = el("span", "en", `Window ${c.window}`);
    en.lang = "en";
    to.append(en);
    li.append(to);
    if (highlight && highlight.ticket === c.ticket && highlight.until > now) li.classList.add("new");
    calls.append(li);
  }
  const waiting = $("waiting");
  waiting.replaceChildren();
  for (const w of view.waiting) {
    const li = el("li");
    li.append(el("span", "category", w.name), el("span", "count", `${w.waiting} 人`));
    waiting.append(li);
  }
  $("notice").textContent = view.notice || "";
}

async function refresh() {
  const r = await fetch("/api/board", { credentials: "same-origin", cache: "no-store" });
  if (r.status === 401 || r.status === 403) { location.reload(); return; } // shows "not set up"
  if (r.ok) render(await r.json());
}

function chime() {
  // two soft tones: the voice itself comes from the hall's speakers
  try {
    const ctx = new AudioContext();
    [[660, 0], [880, 0.25]].forEach(([f, t]) => {
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.2, ctx.currentTime + t);
      g.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + t + 0.6);
      o.connect(g).connect(ctx.destination);
      o.start(ctx.currentTime + t);
      o.stop(ctx.currentTime + t + 0.6);
    });
  } catch (e) { /* no audio device: the screen still shows the call */ }
}

function onEvent(env) {
  if (env.type === "ticket.called" || env.type === "ticket.recalled") {
    highlight = { ticket: env.data.ticket, until: Date.now() + HIGHLIGHT_MS };
    chime();
    setTimeout(refresh, HIGHLIGHT_MS + 50); // the highlight ends by itself
  }
  if (REFRESH_ON.test(env.type)) refresh();
}

function tick() {
  const date = hallClock.format({ dateStyle: "full" });
  const time = hallClock.format({ hour: "2-digit", minute: "2-digit", second: "2-digit" });
  $("clock").replaceChildren(el("span", "date", date), document.createTextNode(time));
}

refresh().then(tick);
setInterval(tick, 1000);
liveEvents(onEvent, refresh); // on (re)connection: what changed while away, but not as news
