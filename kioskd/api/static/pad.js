// The rating tablet (评价器), pad.web: bound to one window and enrolled once by a technician. It
// speaks pad.mqtt's messages on its own socket (/api/pads/{id}/link): prompts and requests in,
// ratings and signatures out, each sealed with the tablet's key (HMAC-SHA256 over the prompt it
// answers, as a physical pad's; docs/ratings.md). Idle: who serves at this window. Nothing here
// can rate for anyone else: the daemon takes a rating only for the prompt it sent this tablet.
"use strict";

const N = decodeURIComponent(location.pathname.split("/")[2]);
const LEVELS = [[5, "非常满意", "Very satisfied"], [4, "满意", "Satisfied"], [3, "基本满意", "Acceptable"],
                [2, "不满意", "Dissatisfied"], [1, "非常不满意", "Very dissatisfied"]];
const REFUSED = { "rating.reason_required": "请至少选择一项原因", "rating.timeout": "评价已超时",
                  "rating.duplicate": "本次服务已评价", "rating.text_too_long": "意见太长，请精简" };
const STORE = `kioskd-pad-key-${N}`;
let view = null, device = null, key = null, ws = null;
let asked = null;     // the open prompt {transaction, ticket, timeout_s}
let signing = null;   // the open 请签名 {transaction, ticket}
let chosen = null, idleTimer = null;

function show(id) {
  for (const s of ["idle", "prompt", "why", "sign", "thanks"]) $(s).hidden = s !== id;
  if (id !== "why" && id !== "prompt") $("said").textContent = "";
}

function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }
function unhex(text) { return (text.match(/../g) || []).map((h) => parseInt(h, 16)); }
// the seal of drivers/pad/seal.py: 8 bytes of HMAC-SHA256 over "txn|ticket|level|reasons|text"
function seal(txn, ticket, level, reasons, text) {
  return sha256.hmac(key, [txn, ticket, String(level), reasons.join(","), text].join("|")).slice(0, 16);
}

function send(kind, data) { if (ws && ws.readyState === 1) ws.send(`${kind}\n${JSON.stringify(data)}`); }

function idle() {
  asked = null; signing = null; chosen = null;
  clearTimeout(idleTimer);
  show("idle");
  refresh();
}

function rate(level, reasons = [], text = "") {
  if (!asked) return;
  send("rating", { transaction: asked.transaction, level, reasons, text,
                   seal: seal(asked.transaction, asked.ticket, level, reasons, text) });
}

function prompted(req) {
  asked = req; chosen = null;
  $("prompt-for").textContent = `${req.ticket} 号 · ${req.clerk}`;
  const box = $("reasons");
  box.replaceChildren(...req.reasons.map((r) => {
    const b = el("button", "reason", r.name);
    b.type = "button";
    b.dataset.code = r.code;
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => b.setAttribute("aria-pressed",
      b.getAttribute("aria-pressed") === "true" ? "false" : "true"));
    return b;
  }));
  $("text").value = "";
  show("prompt");
  clearTimeout(idleTimer);
  if (req.timeout_s) idleTimer = setTimeout(idle, req.timeout_s * 1000);
}

function pressed(level) {
  if (level <= 2) { chosen = level; show("why"); return; }
  rate(level);
}

// thanks, then idle; a prompt arriving meanwhile takes the screen at once (and this timer)
function thanks(words) {
  $("thanks-h").firstChild.textContent = words;
  show("thanks");
  clearTimeout(idleTimer);
  idleTimer = setTimeout(idle, 3000);
}

function result(req) {
  if (!asked || req.rating !== asked.transaction) return;
  if (req.accepted) {
    asked = null;
    thanks("感谢您的评价！ ");
  } else {
    $("said").textContent = REFUSED[req.error] || "评价未被接受，请重试";
  }
}

// --- 请签名: a signing area for stylus or finger -------------------------------------------------
const canvas = $("pad-canvas"), ink = canvas.getContext("2d");
let drawing = false, strokes = 0;
function clearInk() {
  ink.fillStyle = "#ffffff";
  ink.fillRect(0, 0, canvas.width, canvas.height);
  strokes = 0;
}
function at(e) {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
}
canvas.addEventListener("pointerdown", (e) => {
  drawing = true; strokes++;
  canvas.setPointerCapture(e.pointerId);
  ink.beginPath(); ink.moveTo(...at(e));
});
canvas.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  ink.lineWidth = e.pressure ? 2 + 4 * e.pressure : 4;
  ink.lineCap = "round"; ink.strokeStyle = "#000000";
  ink.lineTo(...at(e)); ink.stroke();
});
canvas.addEventListener("pointerup", () => { drawing = false; });

function signRequested(req) {
  signing = req;
  $("sign-for").textContent = `${req.ticket} 号`;
  clearInk();
  show("sign");
  clearTimeout(idleTimer);
  if (req.timeout_s) idleTimer = setTimeout(idle, req.timeout_s * 1000);
}

async function sendSignature() {
  if (!signing) return;
  if (!strokes) { $("said").textContent = "请先签名 Please sign first"; return; }
  const blob = await new Promise((ok) => canvas.toBlob(ok, "image/png"));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const text = `signature:${sha256(bytes)}`;
  send("signature", { transaction: signing.transaction, image: btoa(bin),
                      seal: seal(signing.transaction, signing.ticket, 0, [], text) });
}

function signed(req) {
  if (!signing || req.signature !== signing.transaction) return;
  if (req.accepted) {
    signing = null;
    thanks("签名已提交，谢谢！ ");
  } else {
    $("said").textContent = "签名未被接受，请重新签名";
  }
}

// --- the link ----------------------------------------------------------------------------------------
function onMessage(text) {
  const nl = text.indexOf("\n");
  if (text.slice(0, nl) !== "request") return;
  const req = JSON.parse(text.slice(nl + 1));
  const ok = () => send("response", { transaction: req.transaction, status: "ok" });
  switch (req.op) {
    case "prompt": prompted(req); ok(); break;
    case "idle": idle(); ok(); break;
    case "ping": ok(); break;
    case "sign": signRequested(req); ok(); break;
    case "result": result(req); break;
    case "signed": signed(req); break;
    default: send("response", { transaction: req.transaction, status: "error", error: `unknown op ${req.op}` });
  }
}

function connect() {
  let retry = 1000;
  const open = () => {
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/pads/${encodeURIComponent(device)}/link`);
    ws.onopen = () => { retry = 1000; $("offline").hidden = true; refresh(); };
    ws.onmessage = (m) => onMessage(m.data);
    ws.onclose = () => {
      $("offline").hidden = false;
      setTimeout(async () => {
        // refused (enrolled anew elsewhere): the page says so instead of trying forever
        const r = await fetch(`/api/pads/${encodeURIComponent(device)}`, { cache: "no-store" }).catch(() => null);
        if (r && (r.status === 401 || r.status === 403)) { location.reload(); return; }
        open();
      }, retry);
      retry = Math.min(retry * 2, 5000);
    };
  };
  open();
}

async function refresh() {
  const r = await fetch(`/api/pads/${encodeURIComponent(device)}`, { cache: "no-store" });
  if (!r.ok) return;
  view = await r.json();
  hallClock.set(view.timezone, view.now);
  $("hall").textContent = view.hall;
  $("window-no").textContent = `${view.window} 号窗口${view.window_name ? " · " + view.window_name : ""}`;
  $("clerk").textContent = view.clerk ? `为您服务：${view.clerk}　工号 ${view.staff_no || "—"}` : "窗口暂停服务";
  const photo = $("clerk-photo");
  photo.hidden = !view.photo;
  const src = view.photo ? `/api/pads/${encodeURIComponent(device)}/photo?clerk=${encodeURIComponent(view.clerk)}` : "";
  if (photo.getAttribute("src") !== src) photo.setAttribute("src", src);
  $("text").maxLength = view.text_max;
  tick();
}

function tick() {
  $("clock").textContent = hallClock.format({ month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

async function start() {
  // who this tablet is: its token (the cookie) names its device; the key is fetched once
  const who = await fetch("/api/pads/whoami", { cache: "no-store" });
  if (!who.ok) { location.reload(); return; }
  device = (await who.json()).device;
  const stored = localStorage.getItem(STORE);
  if (stored && stored.startsWith(`${device}:`)) {
    key = unhex(stored.split(":")[1]);
  } else {
    const r = await fetch(`/api/pads/${encodeURIComponent(device)}/key`, { method: "POST" });
    if (!r.ok) {
      $("said").textContent = "此平板的密钥已丢失，请技术人员重新登记 / This tablet lost its key: a technician enrolls it again";
      return;
    }
    const hexKey = (await r.json()).key;
    localStorage.setItem(STORE, `${device}:${hexKey}`);
    key = unhex(hexKey);
  }
  $("levels").replaceChildren(...LEVELS.map(([level, zh, english]) => {
    const b = el("button", `level level-${level}`, zh);
    b.type = "button";
    b.append(en(english));
    b.addEventListener("click", () => pressed(level));
    return b;
  }));
  $("why-back").addEventListener("click", () => show("prompt"));
  $("why-send").addEventListener("click", () => {
    const reasons = [...$("reasons").querySelectorAll("[aria-pressed=true]")].map((b) => Number(b.dataset.code));
    if (!reasons.length) { $("said").textContent = REFUSED["rating.reason_required"]; return; }
    rate(chosen, reasons, $("text").value.trim());
  });
  $("sign-clear").addEventListener("click", clearInk);
  $("sign-send").addEventListener("click", sendSignature);
  await refresh();
  connect();
  setInterval(tick, 1000);
  setInterval(() => { if (!asked && !signing) refresh(); }, 30000);  // who serves, when idle
}
start();
