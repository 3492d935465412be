// The self-service kiosk (取号机): touch only. Home offers each category with its line and an
// honest estimate, greyed with the reason in words when it cannot issue now; a card on the
// kiosk's reader shows the masked name and lane within a second; a touch issues the ticket.
// Data from GET /api/kiosks/{id} and its /card, changes from WS /api/events.
"use strict";

const KIOSK = decodeURIComponent(location.pathname.split("/")[2]);
let IDLE_MS = 60000; // back home, the card's data gone: [[kiosk]] idle_s
const LANES = { elderly: ["老年人优先", "Senior priority"], appointment: ["预约", "Appointment"],
                disabled: ["残疾人优先", "Disability priority"] };
let card = null, idleTimer = null, offers = [];


function show(id) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
  clearTimeout(idleTimer);
  if (id !== "home") idleTimer = setTimeout(home, IDLE_MS);
}

function home() {
  show("home");
  if (card) {  // the citizen left: the card read here is forgotten, on the page and the daemon
    card = null;
    renderCard();
    fetch(`/api/kiosks/${encodeURIComponent(KIOSK)}/card`, { method: "DELETE" });
  }
  code = "";
  refresh();
}

// elder mode (适老化): each screen's prompt said by the hall's voice, on this kiosk's speaker
function speak(prompt, ticket) {
  if (!document.body.classList.contains("elder")) return;
  const q = ticket ? `?ticket=${encodeURIComponent(ticket)}` : "";
  const audio = new Audio(`/api/kiosks/${encodeURIComponent(KIOSK)}/voice/${prompt}${q}`);
  audio.play().catch(() => {});
}

async function api(path, body) {
  const r = await fetch(path, body === undefined ? { cache: "no-store" } : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (r.status === 401) { location.reload(); return null; }
  return { status: r.status, body: await r.json() };
}

function renderCategories() {
  const box = $("categories");
  box.replaceChildren();
  for (const c of offers) {
    const b = el("button", "category");
    b.type = "button";
    b.dataset.code = c.code;
    b.append(el("span", "name", c.name));
    const est = c.wait_min === null ? "暂无窗口办理" : c.wait_min === 0 ? "即到即办" : `约 ${c.wait_min} 分钟`;
    b.append(el("span", "line", `等候 ${c.waiting} 人 · ${est}`));
    const cardOk = c.reason === "category.requires_id" && card && !card.error;
    if (!c.available && !cardOk) {
      if (c.reason === "category.requires_id") {
        b.classList.add("needs-card");
      } else {
        b.disabled = true;
        b.setAttribute("aria-disabled", "true");
      }
      b.append(el("span", "reason", c.message));
      b.lastChild.append(en(c.message_en));
    }
    b.addEventListener("click", () => take(c));
    box.append(b);
  }
}

async function refresh() {
  const r = await api(`/api/kiosks/${encodeURIComponent(KIOSK)}`);
  if (!r || r.status !== 200) return;
  $("hall").textContent = r.body.hall;
  IDLE_MS = r.body.idle_s * 1000;
  hallClock.set(r.body.timezone, r.body.now);
  offers = r.body.categories;
  renderCategories();
}

function renderCard() {
  const box = $("card");
  box.replaceChildren();
  if (!card) {
    box.append("请将身份证放在读卡区 ", en("Place your ID card on the reader"));
    box.className = "";
  } else if (card.error) {
    box.append(card.message + " ", en(card.message_en));
    box.className = "card-error";
  } else {
    const lane = LANES[card.lane];
    box.append(el("strong", "holder", card.name), " 已读取身份证 ", en("ID card read"));
    if (lane) box.append(el("span", "lane", lane[0]), en(lane[1]));
    box.className = "card-read";
  }
}

// the card on this kiosk's reader: each answer waits in the daemon until something changed
// (a card read or taken, the gun's check-in), so the page hears of a card as it is read
let cardVersion = "";
async function pollCard() {
  let again = 0;
  try {
    const r = await api(`/api/kiosks/${encodeURIComponent(KIOSK)}/card?seen=${encodeURIComponent(cardVersion)}`);
    if (r && r.status === 200) cardVersion = r.body.version;
    else again = 1000;
    const next = r && r.status === 200 ? r.body.card : null;
    const notice = r && r.status === 200 ? r.body.notice : null;
    if (notice && notice.error) refused(notice);  // the gun read an appointment QR
    else if (notice) issued(notice, LANES.appointment[0]);
    if (JSON.stringify(next) !== JSON.stringify(card)) {
      card = next;
      renderCard();
      renderCategories();
      if (card && !card.error && !$("need-card").hidden && pending) {
        const c = pending; pending = null; take(c);
      }
    }
  } catch (e) {
    again = 1000;  // the daemon restarting: ask again in a moment
  } finally {
    setTimeout(pollCard, again);
  }
}

let pending = null;
async function take(c) {
  if (c.reason === "category.requires_id" && !(card && !card.error)) {
    pending = c;
    $("need-card-for").replaceChildren(c.name);
    show("need-card");
    speak("card");
    return;
  }
  const r = await api("/api/tickets", { category: c.code, kiosk: KIOSK });
  if (!r) return;
  if (r.status === 201) issued(r.body, c.name);
  else refused(r.body);
}

function issued(t, what) {
  $("number").textContent = t.number;
  const offer = offers.find((o) => o.code === t.category);
  $("result-category").textContent = offer ? offer.name : what;
  const wait = t.wait_min === null ? "" : t.wait_min === 0 ? "，即将为您服务" : `，预计等候约 ${t.wait_min} 分钟`;
  $("ahead").replaceChildren(`您前面还有 ${t.ahead} 人${wait}`, en(`${t.ahead} ahead of you`));
  $("on-screen").hidden = !t.on_screen;
  // the printer is out: the ticket's QR (the citizen's rating link) to photograph instead
  const qr = $("ticket-qr");
  qr.hidden = !(t.on_screen && t.qr);
  qr.src = qr.hidden ? "" : `/api/kiosks/${encodeURIComponent(KIOSK)}/qr.svg?text=${encodeURIComponent(t.qr)}`;
  card = null; // taken with this ticket: gone from the page
  renderCard();
  show("result");
  speak("take", t.number);
}

function refused(body) {
  $("refused-words").textContent = body.words || "暂时无法取号，请到咨询引导台";
  $("refused-words-en").textContent = body.words_en || "";
  show("refused");
  speak("refused");
}

// 预约签到: the QR at the kiosk's gun (pollCard shows its outcome), or the code typed here
let code = "";
const KEYS = "1234567890ABCDEFGHJKLMNPQRSTUVWXYZ";
function renderCode() { $("code").textContent = code || "—"; }
function checkinScreen() {
  code = "";
  renderCode();
  show("checkin");
  speak("checkin");
}
$("keypad").replaceChildren(...[...KEYS].map((k) => {
  const b = el("button", "key", k);
  b.type = "button";
  b.addEventListener("click", () => { if (code.length < 20) { code += k; renderCode(); } });
  return b;
}));
$("code-delete").addEventListener("click", () => { code = code.slice(0, -1); renderCode(); });
$("code-go").addEventListener("click", async () => {
  if (!code) return;
  const r = await api("/api/checkin", { code, kiosk: KIOSK });
  if (!r) return;
  if (r.status === 201) issued(r.body, LANES.appointment[0]);
  else refused(r.body);
});
$("checkin-open").addEventListener("click", checkinScreen);

function tick() {
  $("clock").textContent = hallClock.format({ month: "long", day: "numeric", weekday: "short",
                                              hour: "2-digit", minute: "2-digit" });
}

function toggle(id, cls) {
  const on = document.body.classList.toggle(cls);
  $(id).setAttribute("aria-pressed", String(on));
}

for (const b of document.querySelectorAll("button.back")) b.addEventListener("click", home);
$("elder").addEventListener("click", () => { toggle("elder", "elder"); speak("home"); });
$("english").addEventListener("click", () => toggle("english", "english"));
document.addEventListener("pointerdown", () => {
  clearTimeout(idleTimer);
  if ($("home").hidden) idleTimer = setTimeout(home, IDLE_MS);
});
refresh().then(tick);
setInterval(tick, 1000);
pollCard();
liveEvents((env) => {
  if (/^(ticket|service|window|stats|appointment)\./.test(env.type) && !$("home").hidden) refresh();
}, refresh);
