// The clerk's page (窗口), beside the clerk's business system at 1366×768: the current ticket,
// one button per window action with a keypad-like shortcut key, what this window will call
// next in order, held and skipped tickets to call back, today's figures. The clerk never rates:
// there is no rating control here, only 请评价 (ask the citizen, on the window's pad).
"use strict";

const N = decodeURIComponent(location.pathname.split("/")[2]);
const LANES = { elderly: "老年人优先", appointment: "预约", disabled: "残疾人优先", pregnant: "孕妇优先",
                military: "军人优先", assisted: "帮办代办" };
// label, action, shortcut key, when it applies
const ACTIONS = [
  ["叫号", "call-next", "1", (v) => !v.current && v.window.state === "open"],
  ["重呼", "recall", "2", (v) => v.current && v.current.status === "called"],
  ["过号", "skip", "3", (v) => v.current && v.current.status === "called"],
  ["开始办理", "start", "4", (v) => v.current && v.current.status === "called"],
  ["办结", "finish", "5", (v) => !!v.current],
  ["挂起", "hold", "6", (v) => !!v.current],
  ["转移", "transfer", "7", (v) => !!v.current],
  ["暂停", "pause", "8", (v) => v.window.state === "open" && !v.current],
  ["恢复", "resume", "9", (v) => v.window.state === "paused"],
  ["请评价", "ask-rating", "0", (v) => !!v.current || !!v.window.awaiting_rating],
  ["请签名", "ask-signature", "W", (v) => !!v.current && v.tablet],
  ["签到", "sign-in", "S", (v) => v.window.state === "closed" || !v.window.clerk],
  ["签退", "sign-out", "Q", (v) => v.window.state !== "closed" && !v.current],
];
const SAID = { "window.staff_no": "工号不正确 / Unknown staff number",
               "signature.no_tablet": "本窗口没有签名平板 / No signing tablet at this window",
               "signature.tablet_down": "签名平板未连接 / The signing tablet is not connected",
               "locker.full": "寄取柜已满 / No free compartment of that size",
               "locker.jammed": "柜门未能打开，已停用该柜格 / The door did not open: that compartment is out of service",
               "locker.fault": "寄取柜故障 / The locker is out of order" };
let view = null;

async function refresh() {
  const r = await fetch(`/api/windows/${encodeURIComponent(N)}`, { cache: "no-store" });
  if (r.status === 401 || r.status === 403) { location.reload(); return; }
  if (!r.ok) return;
  view = await r.json();
  hallClock.set(view.timezone, view.now);
  render();
}

function ticketLine(t) {
  const li = el("li");
  li.append(el("strong", "ticket", t.ticket), ` ${t.category_name}`);
  if (t.lane) li.append(el("span", "lane", LANES[t.lane] || t.lane));
  li.append(el("span", "waited", ` 已等 ${t.waited_min} 分钟`));
  if (t.over_limit) li.append(el("span", "over", `超时 限${t.wait_limit_min}分`));
  return li;
}

function render() {
  const w = view.window;
  $("title").textContent = `${w.number} 号窗口${w.name ? " · " + w.name : ""}`;
  const state = { open: "服务中", paused: "暂停", closed: "未签到" }[w.state];
  $("who").textContent = w.clerk ? `${w.clerk}（工号 ${w.staff_no || "—"}）· ${state}` : state;
  const cur = $("current");
  cur.replaceChildren();
  if (view.current) {
    const c = view.current;
    cur.append(el("span", "number", c.ticket), el("span", "category", c.category_name));
    if (c.name) cur.append(el("span", "holder", c.name));
    if (c.lane) cur.append(el("span", "lane", LANES[c.lane] || c.lane));
    cur.append(el("span", "status", { called: "已叫号", serving: "办理中" }[c.status] || c.status),
               el("span", "waited", `等候 ${c.waited_min} 分钟`));
    if (c.status === "serving" && c.service_limit_min) {  // 限时办结
      const left = c.service_limit_min - c.serving_min;
      cur.append(el("span", c.over_limit ? "over" : "limit", c.over_limit
        ? `已超过限时 ${c.service_limit_min} 分钟（已办理 ${c.serving_min} 分钟）`
        : `限时办结：剩余 ${left} 分钟`));
    }
    if (c.recalls) cur.append(el("span", "recalls", `重呼 ${c.recalls} 次`));
  } else {
    cur.append(el("span", "idle", w.awaiting_rating ? `${w.awaiting_rating} 等待评价` : "空闲"));
  }
  const bar = $("actions");
  bar.replaceChildren();
  for (const [label, action, key, applies] of ACTIONS) {
    const b = el("button", "action");
    b.type = "button";
    b.dataset.action = action;
    b.append(label, el("kbd", "", key));
    b.setAttribute("aria-keyshortcuts", key);
    b.disabled = !applies(view);
    b.addEventListener("click", () => act(action));
    bar.append(b);
  }
  const list = (id, rows, back) => {
    $(id).replaceChildren(...rows.map((t) => {
      const li = ticketLine(t);
      if (back) {
        const b = el("button", "callback", "回呼");
        b.type = "button";
        b.addEventListener("click", () => act(back, { ticket: t.ticket }));
        li.append(b);
      }
      return li;
    }));
    if (!rows.length) $(id).append(el("li", "empty", "无"));
  };
  list("next", view.next.slice(0, 12));
  list("held", view.held, "call-back");
  list("skipped", view.skipped, "call");
  const d = view.today;
  $("today").textContent = `办结 ${d.served || 0} 件 · 平均办理 ${d.service_avg_s ? Math.round(d.service_avg_s / 60) + " 分钟" : "—"}` +
    ` · 满意率 ${d.satisfaction === null || d.satisfaction === undefined ? "—" : (d.satisfaction * 100).toFixed(1) + "%"}`;
  // the lockers: 出件 (deposit a finished document), and what waits there for this window
  $("lockers-box").hidden = !view.locker_ids.length;
  $("waiting").replaceChildren(...view.lockers.map((x) => {
    const li = el("li", "", `${x.kind === "dropoff" ? "寄存" : "待取"} ${x.case} · ${x.locker} ${x.compartment} 号柜`);
    const b = el("button", "take", "取出");
    b.type = "button";
    b.addEventListener("click", () => locker(x.locker, "collect", { compartment: x.compartment }));
    li.append(b);
    return li;
  }));
  const sel = $("transfer-to");
  sel.replaceChildren(...view.categories.map((c) => new Option(`业务：${c.name}`, `c:${c.code}`)),
    ...view.windows.filter((n) => String(n) !== String(w.number)).map((n) => new Option(`${n} 号窗口`, `w:${n}`)));
}

async function act(action, body = {}) {
  if (action === "sign-in" && !body.staff_no) {  // whoever works the window types their 工号
    $("signin").hidden = false;
    $("staff-no").focus();
    return;
  }
  if (action === "transfer" && !body.to_category && !body.to_window) {
    $("transfer").hidden = false;
    $("transfer-to").focus();
    return;
  }
  const r = await fetch(`/api/windows/${encodeURIComponent(N)}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await r.json();
  $("said").textContent = r.ok ? "" : (SAID[answer.error] || answer.message);
  $("transfer").hidden = true;
  if (r.ok || action !== "sign-in") $("signin").hidden = true;
  refresh();
}

// a locker's answer: which compartment opened (close it after), or why not
async function locker(id, action, body) {
  const r = await fetch(`/api/lockers/${encodeURIComponent(id)}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await r.json();
  $("said").textContent = r.ok ? `${answer.locker} ${answer.compartment} 号柜已打开，请${action === "deposit" ? "放入" : "取出"}后关门`
    : (SAID[answer.error] || answer.message);
  refresh();
}
$("deposit").addEventListener("submit", (e) => {
  e.preventDefault();
  locker(view.locker_ids[0], "deposit", { case: $("case-no").value.trim(), size: $("deposit-size").value });
  $("case-no").value = "";
});

$("transfer-go").addEventListener("click", () => {
  const [kind, target] = $("transfer-to").value.split(":");
  act("transfer", kind === "c" ? { to_category: target } : { to_window: Number(target) });
});
$("transfer-cancel").addEventListener("click", () => { $("transfer").hidden = true; });
$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  act("sign-in", { staff_no: $("staff-no").value.trim() });
});
$("signin-cancel").addEventListener("click", () => { $("signin").hidden = true; });
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "SELECT" || e.target.tagName === "INPUT" || !view) return;
  const found = ACTIONS.find(([, , key]) => key === e.key.toUpperCase());
  if (found && found[3](view)) { e.preventDefault(); act(found[1]); }
});

function tick() {
  $("clock").textContent = hallClock.format({ hour: "2-digit", minute: "2-digit" });
}
refresh().then(tick);
setInterval(tick, 1000);
setInterval(refresh, 30000);  // minutes waited and 限时办结 move on without any event
liveEvents((env) => {
  if (/^(ticket|service|window|rating|alert|stats|locker)\./.test(env.type)) refresh();
}, refresh);
