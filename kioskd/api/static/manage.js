// The hall manager's page: a day's figures (today from the queue, past days as the journal
// recorded them at midnight), as tables with a CSV download each and a chart of tickets per hour.
"use strict";

const min = (s) => (s === null || s === undefined ? "—" : (s / 60).toFixed(1));
const pct = (r) => (r === null || r === undefined ? "—" : (r * 100).toFixed(1) + "%");

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (r.status === 401 || r.status === 403) { location.reload(); return null; }
  return r.ok ? r.json() : null;
}

function csv(rows) {
  return rows.map((r) => r.map((v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(",")).join("\r\n");
}

// a table and its CSV download (UTF-8 with a BOM, so that a spreadsheet reads the Chinese)
function table(box, name, head, rows) {
  const t = el("table");
  const tr = el("tr");
  head.forEach((h) => tr.append(el("th", "", h)));
  t.append(el("thead"));
  t.firstChild.append(tr);
  const body = el("tbody");
  for (const r of rows) {
    const row = el("tr");
    r.forEach((v) => row.append(el("td", "", v === null || v === undefined ? "—" : String(v))));
    body.append(row);
  }
  t.append(body);
  const a = el("a", "csv", `下载 CSV`);
  a.download = `${name}-${$("day").value}.csv`;
  a.href = URL.createObjectURL(new Blob(["\ufeff" + csv([head, ...rows])], { type: "text/csv" }));
  box.replaceChildren(t, a);
}

function chart(hours) {
  // the hall's usual day (08-17) at least, so that one busy hour reads as one hour
  const have = Object.keys(hours).map(Number);
  const keys = [];
  for (let h = Math.min(8, ...have); h <= Math.max(17, ...have); h++) keys.push(String(h).padStart(2, "0"));
  const count = (h) => (hours[h] ? hours[h].issued : 0);
  const max = Math.max(1, ...keys.map(count));
  const W = 960, H = 220, TOP = 24, bw = W / keys.length;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 ${-TOP} ${W} ${H + TOP + 30}`);
  svg.setAttribute("width", "100%");
  keys.forEach((h, i) => {
    const v = count(h), bh = (v / max) * H;
    const rect = document.createElementNS(ns, "rect");
    Object.entries({ x: i * bw + 4, y: H - bh, width: bw - 8, height: bh, class: "bar" })
      .forEach(([k, val]) => rect.setAttribute(k, val));
    const label = document.createElementNS(ns, "text");
    Object.entries({ x: i * bw + bw / 2, y: H + 22, "text-anchor": "middle" })
      .forEach(([k, val]) => label.setAttribute(k, val));
    label.textContent = `${h}时`;
    const num = document.createElementNS(ns, "text");
    Object.entries({ x: i * bw + bw / 2, y: H - bh - 6, "text-anchor": "middle" })
      .forEach(([k, val]) => num.setAttribute(k, val));
    num.textContent = v;
    svg.append(rect, label, num);
  });
  $("chart").replaceChildren(have.length ? svg : el("p", "", "当日无取号"));
}

async function show(day) {
  const s = await get(`/api/stats?day=${encodeURIComponent(day)}`);
  if (!s) return;
  const t = s.total, j = s.journal;
  $("summary").replaceChildren(...[
    ["取号", t.issued], ["办结", t.served], ["等候中", t.waiting], ["过号", t.skipped],
    ["平均等候(分)", min(t.wait_avg_s)], ["满意率", pct(s.ratings.satisfaction)],
    ["评价数", s.ratings.rated], ["超时提醒", j["alert.raised"]], ["未评价", j["rating.missed"]],
    ["拒收评价", j["rating.refused"]]].map(([k, v]) => {
    const d = el("div", "figure");
    d.append(el("span", "value", String(v)), el("span", "label", k));
    return d;
  }));
  chart(s.hours);
  table($("categories"), "categories", ["类别", "取号", "办结", "过号", "等候中", "平均等候(分)", "P50等候(分)", "P90等候(分)", "平均办理(分)"],
    Object.entries(s.categories).map(([c, v]) => [c, v.issued, v.served, v.skipped, v.waiting,
      min(v.wait_avg_s), min(v.wait_p50_s), min(v.wait_p90_s), min(v.service_avg_s)]));
  table($("windows"), "windows", ["窗口", "办结", "过号", "平均办理(分)", "利用率", "评价数", "满意", "满意率"],
    Object.entries(s.windows).map(([w, v]) => [w, v.served, v.skipped, min(v.service_avg_s),
      pct(v.utilisation), v.rated, v.satisfied, pct(v.satisfaction)]));
  table($("clerks"), "clerks", ["工作人员", "评价数", "满意", "满意率"],
    Object.entries(s.clerks).map(([c, v]) => [c, v.rated, v.satisfied, pct(v.satisfaction)]));
}

// the 24-hour zones now (not a past day's): who is inside, each door, an emergency opening
async function zones() {
  const z = await get("/api/zones");
  if (!z || !z.zones.length) return;
  $("zone-box").hidden = false;
  table($("zones"), "zones", ["区域", "区内人数", "门", "紧急开门"],
    z.zones.map((x) => [x.name || x.id, x.occupancy,
      x.doors.map((d) => `${d.id} ${d.lost ? "故障" : d.open ? "开" : "关"}`).join("，"),
      x.emergency ? "是" : "否"]));
}

async function start() {
  const d = await get("/api/stats/days");
  if (!d) return;
  $("hall").textContent = `${d.hall} · 运行情况`;
  const sel = $("day");
  sel.replaceChildren(new Option(`${d.today}（今日）`, d.today), ...d.days.map((x) => new Option(x, x)));
  sel.addEventListener("change", () => show(sel.value));
  await show(d.today);
  await zones();
  setInterval(zones, 5000);
}
start();
