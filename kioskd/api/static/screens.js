// What every screen shares: a few DOM helpers, the live event stream with its 连接中… banner
// and reconnection, and the hall's clock (the daemon's time, shown in the hall's zone).
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function en(text) {
  const s = el("span", "en", text);
  s.lang = "en";
  return s;
}

// WS /api/events, authorised by the screen's cookie. `onOpen` runs on every (re)connection (what
// changed while away is fetched then, not shown as news), `onEvent` with each envelope. While it
// is down the page says so (#offline) and tries again, backing off to 5 s.
function liveEvents(onEvent, onOpen) {
  let retry = 1000;
  const connect = () => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/events`);
    ws.onopen = () => { retry = 1000; $("offline").hidden = true; onOpen(); };
    ws.onmessage = (m) => onEvent(JSON.parse(m.data));
    ws.onclose = () => {
      $("offline").hidden = false;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  };
  connect();
}

// The hall's clock: the daemon's time (guarded, and a test's fixed day) as of the last answer
// that carried it, going on with this screen's seconds, shown in the hall's time zone.
const hallClock = {
  tz: undefined, skew: 0,
  set(timezone, now) { this.tz = timezone; this.skew = Date.parse(now) - Date.now(); },
  now() { return new Date(Date.now() + this.skew); },
  format(options) {
    return new Intl.DateTimeFormat("zh-CN", { timeZone: this.tz, hour12: false, ...options })
      .format(this.now());
  },
};
