// The locker's touch page (自助寄取柜): 取件 with the six-digit code from central's text message
// (or a card on the reader beside it: the daemon opens the compartment, this page says which),
// 寄件 for a window. No code is ever shown back, nor what a compartment holds.
// Data from GET /api/lockers/{id}, changes from WS /api/events.
"use strict";

const LOCKER = decodeURIComponent(location.pathname.split("/")[2]);
const IDLE_MS = 60000;
const WORDS = {
  "locker.bad_code": ["取件码不正确，请核对短信", "That code is not right: check your text message."],
  "locker.code_used": ["此取件码已使用", "That code has been used already."],
  "locker.code_expired": ["取件码已过期，请到窗口领取", "That code has expired: please ask at a window."],
  "locker.locked_out": ["输错次数过多，请 5 分钟后再试", "Too many wrong codes: please try again in 5 minutes."],
  "locker.full": ["暂无空柜，请到窗口办理", "No compartment is free: please ask at a window."],
  "locker.jammed": ["柜门未能打开，请重试或联系工作人员", "The door did not open: try again, or ask the staff."],
  "locker.fault": ["寄取柜暂时故障，请联系工作人员", "The lockers are out of order: please ask the staff."],
  "locker.nothing_for_card": ["没有您的待取件", "Nothing waits here for this card."],
};
const ELSE = ["暂时无法开柜，请联系工作人员", "Not opened: please ask the staff."];
let code = "", idleTimer = null;

function show(id) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
  clearTimeout(idleTimer);
  if (id !== "home") idleTimer = setTimeout(() => show("home"), IDLE_MS);
}

async function api(path, body) {
  const r = await fetch(path, body === undefined ? { cache: "no-store" } : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (r.status === 401) { location.reload(); return null; }
  return { status: r.status, body: await r.json() };
}

function refused(errorCode) {
  const [zh, enText] = WORDS[errorCode] || ELSE;
  $("refused-words").textContent = zh;
  $("refused-words-en").textContent = enText;
  show("refused");
}

function opened(numbers, what, receipt) {
  $("compartment").textContent = numbers.map((n) => `${n} 号柜`).join(" · ");
  $("opened-what").textContent = what;
  $("receipt").hidden = !receipt;
  if (receipt) {
    $("receipt").replaceChildren(`寄存回执 ${receipt}，请拍照留存 `, en(`Receipt ${receipt}: please keep a photo of it`));
  }
  show("opened");
}

let windows = [];
async function refresh() {
  const r = await api(`/api/lockers/${encodeURIComponent(LOCKER)}`);
  if (!r || r.status !== 200) return;
  $("hall").textContent = r.body.hall;
  hallClock.set(r.body.timezone, r.body.now);
  windows = r.body.windows;
  const notice = r.body.notice;  // a card on the reader beside the locker, once
  if (notice && notice.error) refused(notice.error);
  else if (notice) opened(notice.compartments, `${notice.masked_name}，请取走您的材料并关好柜门`);
}

function renderCode() { $("code").textContent = code ? "•".repeat(code.length) : "—"; }

$("keypad").replaceChildren(...[..."1234567890"].map((k) => {
  const b = el("button", "key", k);
  b.type = "button";
  b.addEventListener("click", () => { if (code.length < 6) { code += k; renderCode(); } });
  return b;
}));
$("code-delete").addEventListener("click", () => { code = code.slice(0, -1); renderCode(); });
$("code-go").addEventListener("click", async () => {
  if (code.length !== 6) return;
  const r = await api(`/api/lockers/${encodeURIComponent(LOCKER)}/pickup`, { code });
  code = "";
  renderCode();
  if (!r) return;
  if (r.status === 200) opened([r.body.compartment], "请取走您的材料并关好柜门 Please take your papers and close the door");
  else refused(r.body.error);
});
$("pickup-open").addEventListener("click", () => { code = ""; renderCode(); show("pickup"); });
$("dropoff-open").addEventListener("click", () => {
  $("windows").replaceChildren(...windows.map((n) => {
    const b = el("button", "key", `${n} 号窗口`);
    b.type = "button";
    b.addEventListener("click", async () => {
      const r = await api(`/api/lockers/${encodeURIComponent(LOCKER)}/dropoff`, { window: n });
      if (!r) return;
      if (r.status === 200) opened([r.body.compartment], `请放入材料并关好柜门，材料将交给 ${n} 号窗口`, r.body.receipt);
      else refused(r.body.error);
    });
    return b;
  }));
  show("dropoff");
});
for (const b of document.querySelectorAll("button.back")) b.addEventListener("click", () => show("home"));

function tick() {
  $("clock").textContent = hallClock.format({ month: "long", day: "numeric", weekday: "short",
                                              hour: "2-digit", minute: "2-digit" });
}
refresh().then(tick);
setInterval(tick, 1000);
liveEvents((env) => {
  if (env.type.startsWith("locker.") && env.data.locker === LOCKER) refresh();
}, refresh);
