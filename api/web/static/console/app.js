// ewr console: a small client of the same /v1 API everyone uses. It keeps
// the token in sessionStorage, renders one page per route (#/...), and
// re-renders when the event stream brings a committed event.
"use strict";

const S = { token: sessionStorage.getItem("ewr.token") || "", me: null, participants: [], route: "", live: null };

// ---------- formatting: for people ----------
const nf = new Intl.NumberFormat();
function qty(q, unit) { return q === undefined || q === null ? "" : nf.format(q) + " " + (unit || ""); }
function money(minor, currency) {
  if (minor === undefined || minor === null) return "";
  try { return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100); }
  catch (_) { return nf.format(minor / 100) + " " + currency; }
}
function when(unix) { return unix ? new Date(unix * 1000).toLocaleString() : "—"; }
function day(unix) { return unix ? new Date(unix * 1000).toLocaleDateString() : "—"; }
function hours(sec) { return sec % 3600 === 0 ? nf.format(sec / 3600) + " h" : nf.format(Math.round(sec / 60)) + " min"; }
const alertKinds = { drift: "weight out of its band", step: "sudden weight change", motion: "motion in a locked bay", seal: "seal broken or door opened",
  tamper: "device tampered with", gap: "devices silent", load_out: "load-out off the lock" };
function alertKind(k) { return alertKinds[k] || String(k).replaceAll("_", " "); }
// attrText says an event's attributes for people: money in its currency,
// times local, quantities with their unit, basis points as percent.
const moneyAttrs = new Set(["value", "outstanding", "price", "amount", "principal", "disbursed", "shortfall", "to_seller", "to_loan", "minor_per_tonne", "escrow_released"]);
const timeAttrs = new Set(["deadline", "maturity", "until", "raised_at"]);
const qtyAttrs = new Set(["quantity", "retained", "remaining", "weighed", "ordered", "counted", "baseline"]);
function attrText(attrs, unit) {
  const a = attrs || {};
  return Object.entries(a).filter(([k]) => k !== "currency" && k !== "unit").map(([k, v]) => {
    const n = Number(v), name = k.replaceAll("_", " ");
    if (moneyAttrs.has(k) && a.currency && Number.isFinite(n)) return name + " " + money(n, a.currency);
    if (timeAttrs.has(k) && Number.isFinite(n) && n > 0) return name + " " + when(n);
    if (qtyAttrs.has(k) && Number.isFinite(n)) return name + " " + qty(n, a.unit || unit);
    if (k.endsWith("_bps") && Number.isFinite(n)) return name.replace(/ bps$/, "") + " " + bps(n);
    if (k === "tare_kg" && Number.isFinite(n)) return "tare " + qty(n, "kg");
    return name + " " + v;
  }).join(", ");
}
function plural(n, what) { return nf.format(n) + " " + what + (n === 1 ? "" : "s"); }
function bps(b) { return (b / 100).toFixed(2).replace(/\.00$/, "") + " %"; }
function deviceKind(t) { return typeof t === "number" ? (["", "weighbridge", "bay scale", "camera", "door seal"][t] || "device") : String(t).replaceAll("_", " "); }
function nameOf(id) { const p = S.participants.find((x) => x.id === id); return p ? p.name + " (" + id + ")" : id; }

// ---------- DOM ----------
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}
const badge = (s) => h("span", { class: "badge " + s }, s.replaceAll("_", " ").toLowerCase());
function table(cols, rows, empty) {
  if (!rows.length) return h("p", { class: "muted" }, empty || "Nothing here.");
  return h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", class: c.num ? "num" : "" }, c.label)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", { class: c.num ? "num" : "" }, c.cell(r)))))));
}
function kv(pairs) { return h("dl", { class: "kv" }, pairs.filter((p) => p).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])); }
function flash(node) { const f = document.getElementById("flash"); f.replaceChildren(node); }

// ---------- the API ----------
async function api(method, path, body) {
  const opt = { method, headers: { Authorization: "Bearer " + S.token } };
  if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
  const r = await fetch(path, opt);
  const text = await r.text();
  let v = null;
  try { v = text ? JSON.parse(text) : null; } catch (_) { v = { detail: text }; }
  if (!r.ok) { const e = new Error((v && v.title) || r.statusText); e.problem = v || {}; e.status = r.status; throw e; }
  return v;
}
const get = (p) => api("GET", p);
async function items(p) { const v = await get(p); return (v && v.items) || []; }

// problemText says a refusal as a sentence naming the rule.
function problemText(e) {
  const p = e.problem || {};
  const title = p.title || e.message;
  // A detail that repeats the title says it once.
  let s = "Refused: " + (p.detail && p.detail.startsWith(title) ? p.detail : title + (p.detail ? " — " + p.detail : ""));
  if (p.rule) s += " (rule " + p.rule + ")";
  return s + ".";
}
// act submits an action and says what happened.
async function act(label, method, path, body) {
  try {
    const res = await api(method, path, body);
    if (res && res.status === "awaiting_signatures") flash(h("p", { class: "done" }, label + ": waiting for " + (res.draft.awaiting || []).map(nameOf).join(", ") + " to co-sign."));
    else flash(h("p", { class: "done" }, label + ": committed" + (res && res.height ? " in block " + res.height : "") + "."));
    await render();
    return res;
  } catch (e) {
    flash(h("p", { class: "problem", role: "alert" }, problemText(e)));
    return null;
  }
}
// form builds a form whose inputs validate before it submits.
function form(label, fields, submit, opts) {
  const f = h("form", { class: "inline", "aria-label": label, novalidate: true });
  for (const fd of fields) {
    const input = fd.options
      ? h("select", { name: fd.name, required: fd.required !== false }, fd.options.map(([v, t]) => h("option", { value: v }, t)))
      : h("input", { name: fd.name, type: fd.type || "text", required: fd.required !== false, min: fd.min, max: fd.max, step: fd.step,
          pattern: fd.pattern, value: fd.value, placeholder: fd.placeholder, size: fd.size });
    f.append(h("label", {}, fd.label, input));
  }
  f.append(h("button", { type: "submit", class: (opts && opts.secondary) ? "secondary" : "" }, label));
  f.addEventListener("input", () => { f.dataset.dirty = "1"; });
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!f.checkValidity()) {
      const bad = [...f.elements].find((x) => x.validity && !x.validity.valid);
      flash(h("p", { class: "problem", role: "alert" }, "Check the form: " + (bad ? bad.closest("label").firstChild.textContent + " " + bad.validationMessage : "a field is not valid")));
      if (bad) bad.focus();
      return;
    }
    const v = Object.fromEntries(new FormData(f).entries());
    delete f.dataset.dirty;
    await submit(v);
  });
  return f;
}

// ---------- sign in ----------
async function signIn(token) {
  S.token = token;
  try {
    const me = await get("/v1/me");
    S.me = me.participant;
    sessionStorage.setItem("ewr.token", token);
    S.participants = await items("/v1/participants?limit=1000");
    startLive();
    location.hash = "#/";
    await render();
  } catch (e) {
    S.token = ""; S.me = null; sessionStorage.removeItem("ewr.token");
    renderSignIn(e.status === 401 ? "That token is not one of this node's." : problemText(e));
  }
}
function signOut() {
  S.token = ""; S.me = null; sessionStorage.removeItem("ewr.token");
  clearTimeout(pending);
  if (S.live) { S.live.abort(); S.live = null; }
  document.getElementById("proofcheck").hidden = true;
  document.getElementById("verifier").replaceChildren();
  flash("");
  renderSignIn();
}

function renderSignIn(msg) {
  document.getElementById("nav").replaceChildren();
  document.getElementById("who").replaceChildren();
  const main = document.getElementById("main");
  const demo = Array.isArray(window.EWR_DEMO) ? window.EWR_DEMO : [];
  main.replaceChildren(h("section", { class: "card signin", "aria-labelledby": "si" },
    h("h1", { id: "si" }, "Sign in"),
    h("p", {}, "Sign in with your participant's API token. The console acts only as you."),
    msg ? h("p", { class: "problem", role: "alert" }, msg) : null,
    form("Sign in", [{ name: "token", label: "API token", type: "password", size: 40 }], (v) => signIn(v.token.trim())),
    demo.length ? [h("h2", {}, "Demo participants"), h("p", { class: "muted" }, "This node runs the demo world (ewr run): pick who you are."),
      h("div", { class: "plist" }, demo.map((p) => h("button", { type: "button", class: "secondary", onclick: () => signIn(p.token) }, p.name + " · " + p.role)))] : null));
}

// ---------- live ----------
var pending = null;
async function startLive() {
  if (S.live) S.live.abort();
  const ctl = new AbortController();
  S.live = ctl;
  try {
    const r = await fetch("/v1/events/stream", { headers: { Authorization: "Bearer " + S.token }, signal: ctl.signal });
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, i); buf = buf.slice(i + 2);
        const data = chunk.split("\n").find((l) => l.startsWith("data: "));
        if (data) onEvent(JSON.parse(data.slice(6)));
      }
    }
  } catch (_) { /* aborted, or the node went away */ }
  if (S.live === ctl && !ctl.signal.aborted) setTimeout(startLive, 2000);
}
function onEvent(ev) {
  if (!S.me) return;
  document.body.dataset.lastEvent = ev.type + " " + ev.id;
  clearTimeout(pending);
  pending = setTimeout(liveRender, 250);
}
// liveRender redraws the page for a committed event, unless someone is
// filling in a form on it: then it waits until they submit or leave it.
function liveRender() {
  const main = document.getElementById("main");
  const a = document.activeElement;
  if (main.querySelector("form[data-dirty]") || (a && main.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName))) { pending = setTimeout(liveRender, 1000); return; }
  render(true);
}

// ---------- pages ----------
const has = (role) => S.me && (S.me.roles || "").split(",").includes(role);
function navItems() {
  const out = [["#/", "Home"]];
  if (has("trader") || has("bank")) out.push(["#/receipts", "Receipts"]);
  if (has("operator") || has("collateral_manager")) out.push(["#/warehouse", "Warehouse"]);
  if (has("bank")) out.push(["#/bank", "Bank"]);
  if (has("trader")) out.push(["#/trading", "Trading"]);
  if (has("regulator") || has("admin")) out.push(["#/oversight", "Oversight"]);
  return out;
}

async function render(live) {
  if (!S.me) return renderSignIn();
  const route = location.hash || "#/";
  S.route = route;
  document.getElementById("nav").replaceChildren(...navItems().map(([href, t]) =>
    h("a", { href, class: route === href || (href !== "#/" && route.startsWith(href)) ? "here" : "" , "aria-current": route === href ? "page" : null }, t)));
  document.getElementById("who").replaceChildren(h("span", {}, "Signed in as ", h("strong", {}, S.me.name), " (" + S.me.id + ", " + S.me.roles + ") "),
    h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"));
  const [, page, arg] = route.match(/^#\/([a-z-]*)\/?(.*)$/) || [];
  const pages = { "": home, receipts, receipt: receiptPage, warehouse: warehousePage, bank: bankPage, trading: tradingPage, oversight: oversightPage };
  const fn = pages[page] || home;
  try {
    const node = await fn(decodeURIComponent(arg || ""));
    if (S.route !== route || !S.me) return; // the reader moved on, or signed out
    const main = document.getElementById("main");
    main.replaceChildren(node);
    main.dataset.page = page || "home";
    main.dataset.route = route;
    if (page === "warehouse") refreshCharts();
    if (!live) main.focus();
  } catch (e) {
    if (S.route !== route || !S.me) return;
    document.getElementById("main").replaceChildren(h("p", { class: "problem", role: "alert" }, problemText(e)));
  }
  if (!S.me) return;
  try { const st = await get("/v1/status"); document.getElementById("chain").textContent = "Chain " + st.chain_id + " at block " + st.height + ", " + when(st.block_time); } catch (_) {}
}

async function home() {
  const drafts = await items("/v1/drafts?awaiting=true");
  return h("div", {},
    h("h1", {}, "Welcome, " + S.me.name),
    h("section", { class: "card", "aria-labelledby": "inbox" }, h("h2", { id: "inbox" }, "Awaiting your signature"),
      table([
        { label: "What", cell: (d) => d.op_type.replaceAll(".", " ") },
        { label: "Started by", cell: (d) => nameOf(d.creator) },
        { label: "Signed", cell: (d) => d.signed.map(nameOf).join(", ") },
        { label: "Expires", cell: (d) => when(d.expires_at) },
        { label: "", cell: (d) => [h("button", { type: "button", onclick: () => act("Approve " + d.op_type, "POST", "/v1/drafts/" + d.id + "/approve") }, "Approve"), " ",
            h("button", { type: "button", class: "secondary", onclick: () => act("Decline", "POST", "/v1/drafts/" + d.id + "/decline", { reason: "declined in the console" }) }, "Decline")] },
      ], drafts, "Nothing awaits your signature.")),
    h("section", { class: "card" }, h("h2", {}, "What you can do"), h("ul", {}, navItems().slice(1).map(([href, t]) => h("li", {}, h("a", { href }, t))))));
}

function receiptRow(cols) {
  return [{ label: "Receipt", cell: (r) => h("a", { href: "#/receipt/" + encodeURIComponent(r.id) }, r.id) },
    { label: "State", cell: (r) => badge(r.state) }, { label: "Quantity", num: true, cell: (r) => qty(r.quantity, r.unit) },
    { label: "Goods", cell: (r) => r.commodity + ", " + r.grade }, { label: "Warehouse", cell: (r) => r.warehouse + " / " + r.place }, ...(cols || [])];
}

async function receipts() {
  const mine = await items("/v1/receipts?live=true&limit=1000");
  const states = [...new Set(mine.map((r) => r.state))].sort();
  const free = mine.filter((r) => r.state === "ISSUED" && r.holder === S.me.id);
  const opts = free.map((r) => [r.id, r.id + " · " + qty(r.quantity, r.unit) + " · lot " + r.lot]);
  return h("div", {}, h("h1", {}, "Your receipts"),
    free.length > 1 ? h("section", { class: "card" }, h("h2", {}, "Merge two receipts of one lot"),
      form("Merge", [{ name: "a", label: "This receipt", options: opts }, { name: "b", label: "and this one", options: opts.slice(1).concat(opts.slice(0, 1)) }], (v) => {
        const a = free.find((r) => r.id === v.a), b = free.find((r) => r.id === v.b);
        if (a.id === b.id) { flash(h("p", { class: "problem", role: "alert" }, "Check the form: choose two different receipts.")); return; }
        return act("Merge " + a.id + " and " + b.id, "POST", "/v1/receipts/merge", { receipts: [{ id: a.id, version: a.version }, { id: b.id, version: b.version }] });
      })) : null,
    states.length ? states.map((s) => h("section", { class: "card" }, h("h2", {}, badge(s)), table(receiptRow([{ label: "Valid until", cell: (r) => day(r.valid_until) }]), mine.filter((r) => r.state === s))))
      : h("p", { class: "muted" }, "You hold no receipts."));
}

function lineageSVG(l) {
  const nodes = [...l.ancestors, l.receipt, ...l.descendants];
  const byDepth = {};
  for (const n of nodes) (byDepth[n.depth] = byDepth[n.depth] || []).push(n);
  const depths = Object.keys(byDepth).map(Number).sort((a, b) => a - b);
  const W = 150, H = 44, gx = 40, gy = 16;
  const pos = {};
  depths.forEach((d, col) => byDepth[d].forEach((n, row) => { pos[n.id] = { x: col * (W + gx) + 4, y: row * (H + gy) + 4, n }; }));
  const width = depths.length * (W + gx), height = Math.max(...depths.map((d) => byDepth[d].length)) * (H + gy) + 8;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", height); svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Lineage: " + nodes.map((n) => n.id).join(", "));
  const mk = (t, a) => { const e = document.createElementNS("http://www.w3.org/2000/svg", t); for (const [k, v] of Object.entries(a)) e.setAttribute(k, v); return e; };
  for (const p of Object.values(pos)) for (const c of p.n.children || []) if (pos[c])
    svg.append(mk("line", { x1: p.x + W, y1: p.y + H / 2, x2: pos[c].x, y2: pos[c].y + H / 2, stroke: "#8a96a3" }));
  for (const p of Object.values(pos)) {
    svg.append(mk("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6, fill: p.n.depth === 0 ? "#e3ecfb" : "#fff", stroke: "#8a96a3" }));
    const t1 = mk("text", { x: p.x + 8, y: p.y + 17 }); t1.textContent = p.n.id + " · " + p.n.state.toLowerCase(); svg.append(t1);
    const t2 = mk("text", { x: p.x + 8, y: p.y + 34 }); t2.textContent = nf.format(p.n.quantity) + " · " + p.n.holder; svg.append(t2);
  }
  return svg;
}

async function download(path, name) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + S.token } });
  if (!r.ok) { flash(h("p", { class: "problem" }, "The proof is not available: " + r.status)); return; }
  const url = URL.createObjectURL(await r.blob());
  const a = h("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove();
  flash(h("p", { class: "done" }, "Saved " + name + ". Check it offline at ", h("a", { href: "/verify" }, "/verify"), " against your consortium's genesis."));
}

// verifyHere fetches a receipt's position bundle and checks it with the
// verifier page (/verify, the same WebAssembly a bank saves to disk) in a
// frame; the frame tells the verdict back. The check sits above the page
// (#proofcheck), so live updates of the page leave it alone.
let verdictListener = null;
async function verifyHere(path, id) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + S.token } });
  const say = (cls, text) => { const v = document.getElementById("verdict"); if (v) { v.className = cls; v.textContent = text; } };
  if (!r.ok) { say("problem", "The node did not serve a proof: " + r.status + "."); return; }
  const bundle = await r.text();
  const frame = h("iframe", { src: "/verify", title: "Proof verifier for " + id, class: "verifier" });
  if (verdictListener) window.removeEventListener("message", verdictListener);
  verdictListener = (e) => {
    if (e.source !== frame.contentWindow || e.origin !== location.origin || !e.data || !e.data.ewrVerdict) return;
    const v = e.data.ewrVerdict;
    if (v.need_genesis) say("problem", "Pin your consortium's genesis in the verifier below (step 1) to check the proof.");
    else if (v.ok) say("done", "✓ Verified in this browser: " + v.records + " records of chain " + v.chain_id + " as the validators signed them after block " + v.state_height + ", " + Math.round(v.age_s) + " s ago.");
    else say("problem", "✗ Not verified: " + v.error + ". Do not rely on it.");
  };
  window.addEventListener("message", verdictListener);
  frame.addEventListener("load", () => frame.contentWindow.postMessage({ ewrBundle: bundle }, location.origin));
  say("muted", "Checking the proof of " + id + " in this browser…");
  document.getElementById("verifier").replaceChildren(frame);
  const box = document.getElementById("proofcheck");
  box.hidden = false;
  document.getElementById("pc-close").onclick = () => { box.hidden = true; document.getElementById("verifier").replaceChildren(); };
}

async function receiptPage(id) {
  const r = await get("/v1/receipts/" + encodeURIComponent(id));
  const [hist, lin] = await Promise.all([items("/v1/receipts/" + encodeURIComponent(id) + "/history?limit=200").catch(() => []),
    get("/v1/receipts/" + encodeURIComponent(id) + "/lineage").catch(() => null)]);
  const banks = S.participants.filter((p) => (p.roles || "").includes("bank"));
  const traders = S.participants.filter((p) => (p.roles || "").includes("trader") && p.id !== S.me.id);
  const path = "/v1/receipts/" + encodeURIComponent(id);
  const mine = r.holder === S.me.id;
  const actions = [];
  if (mine && r.state === "ISSUED") {
    actions.push(form("Transfer", [{ name: "to", label: "To", options: traders.map((p) => [p.id, p.name]) }], (v) => act("Transfer to " + nameOf(v.to), "POST", path + "/transfer", { to: v.to, version: r.version })));
    actions.push(form("Pledge", [{ name: "bank", label: "Bank", options: banks.map((p) => [p.id, p.name]) }, { name: "days", label: "Maturity in days", type: "number", min: 1, max: 3650, value: 90 }],
      (v) => act("Pledge to " + nameOf(v.bank), "POST", path + "/pledge", { bank: v.bank, version: r.version, maturity: Math.floor(Date.now() / 1000) + Number(v.days) * 86400 })));
    actions.push(form("Split", [{ name: "a", label: "First part (" + r.unit + ")", type: "number", min: 1, max: r.quantity - 1 }],
      (v) => { const a = Number(v.a); return act("Split", "POST", path + "/split", { version: r.version, parts: [{ id: r.id + "-1", quantity: a }, { id: r.id + "-2", quantity: r.quantity - a }] }); }));
    actions.push(form("Deliver", [{ name: "q", label: "Quantity (" + r.unit + ")", type: "number", min: 1, max: r.quantity, value: r.quantity }],
      (v) => act("Delivery of " + qty(Number(v.q), r.unit), "POST", path + "/deliver", { version: r.version, quantity: Number(v.q) })));
  }
  if (mine && (r.state === "ISSUED" || r.state === "PLEDGED")) {
    actions.push(form("Offer for sale", [{ name: "buyer", label: "Buyer", options: traders.map((p) => [p.id, p.name]) },
      { name: "price", label: "Price (major units)", type: "number", min: 0.01, step: 0.01 }, { name: "currency", label: "Currency", pattern: "[A-Z]{3}", value: "USD", size: 4 },
      { name: "days", label: "Open for days", type: "number", min: 1, max: 30, value: 2 }],
      (v) => act("Offer to " + nameOf(v.buyer), "POST", "/v1/offers", { receipt: r.id, version: r.version, buyer: v.buyer, currency: v.currency,
        price_minor: Math.round(Number(v.price) * 100), deadline: Math.floor(Date.now() / 1000) + Number(v.days) * 86400 })));
  }
  if (r.transfer && r.transfer.to === S.me.id) actions.push(form("Accept the transfer", [], () => act("Accept", "POST", path + "/accept", { version: r.version })));
  if (has("regulator")) {
    if (r.state === "FROZEN") actions.push(form("Unfreeze", [{ name: "reason", label: "Reason", size: 40 }], (v) => act("Unfreeze", "POST", path + "/unfreeze", { reason: v.reason })));
    else actions.push(form("Freeze", [{ name: "reason", label: "Reason", size: 40 }], (v) => act("Freeze", "POST", path + "/freeze", { reason: v.reason })));
  }
  return h("div", {},
    h("h1", {}, "Receipt " + r.id + " ", badge(r.state)),
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "The goods"), kv([["Quantity", qty(r.quantity, r.unit)], ["Commodity", r.commodity + ", " + r.grade], ["Description", r.description],
        ["Warehouse", r.warehouse + ", bay " + r.place], ["Lot", r.lot]])),
      h("section", { class: "card" }, h("h2", {}, "Who"), kv([["Holder", nameOf(r.holder)], ["Depositor", nameOf(r.depositor)], ["Negotiable", r.negotiable ? "yes, to order of " + nameOf(r.order_of) : "no"],
        r.pledge ? ["Pledge", r.pledge] : null, r.transfer ? ["Transfer to", nameOf(r.transfer.to) + " until " + when(r.transfer.deadline)] : null,
        r.frozen ? ["Frozen", r.frozen.reason] : null])),
      h("section", { class: "card" }, h("h2", {}, "Terms"), kv([["Issued", when(r.issued_at) + " at " + r.place_of_issue], ["Valid until", day(r.valid_until)], ["Storage until", day(r.storage_until)],
        ["Storage fee", money(r.fees.minor_per_tonne_per_day, r.fees.currency) + " per tonne a day"], ["Version", r.version]]))),
    actions.length ? h("section", { class: "card", "aria-labelledby": "acts" }, h("h2", { id: "acts" }, "Act on it"), actions) : null,
    h("section", { class: "card", "aria-labelledby": "proof" }, h("h2", { id: "proof" }, "Proof"),
      h("p", { class: "muted" }, "One bundle proves, at one block, the receipt, its pledge, its lot's lock and health and the loan it secures. It is checked here in your browser against the genesis you pinned, not by this node."),
      h("button", { type: "button", onclick: () => verifyHere(path + "/position-proof", r.id) }, "Verify its proof here"), " ",
      h("button", { type: "button", class: "secondary", onclick: () => download(path + "/position-proof", r.id + ".position.json") }, "Download its proof bundle")),
    lin ? h("section", { class: "card" }, h("h2", {}, "Lineage"), lineageSVG(lin)) : null,
    h("section", { class: "card" }, h("h2", {}, "History"), table([{ label: "When", cell: (e) => when(e.time) }, { label: "What", cell: (e) => e.type.replaceAll("_", " ").replace(".", ": ") },
      { label: "Details", cell: (e) => attrText(e.attrs, r.unit) }, { label: "Block", num: true, cell: (e) => e.height }], hist, "No history yet.")));
}

// bayChart draws a bay scale's readings against the lot's lock band: the
// band shaded, stable readings as dots on the line, unstable ones hollow.
function bayChart(v) {
  const W = 560, H = 150, pad = 34;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const mk = (t, a) => { const e = document.createElementNS("http://www.w3.org/2000/svg", t); for (const [k, x] of Object.entries(a)) e.setAttribute(k, x); return e; };
  svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("class", "chart"); svg.setAttribute("role", "img");
  const rs = v.readings || [];
  const last = rs.length ? rs[rs.length - 1] : null;
  svg.setAttribute("aria-label", "Bay " + v.bay + ": " + rs.length + " readings; lock band " + qty(v.expected - v.tolerance, v.unit) + " to " + qty(v.expected + v.tolerance, v.unit) +
    (last ? "; last " + qty(last.qty, last.unit) : ""));
  const qs = rs.map((r) => r.qty).concat([v.expected - 3 * v.tolerance, v.expected + 3 * v.tolerance]);
  const lo = Math.min(...qs), hi = Math.max(...qs), span = Math.max(1, hi - lo);
  const t0 = rs.length ? rs[0].time_ms : Date.now() - 600000, t1 = rs.length ? Math.max(rs[rs.length - 1].time_ms, t0 + 1) : Date.now();
  const x = (t) => pad + (t - t0) / (t1 - t0) * (W - pad - 8), y = (q) => H - 18 - (q - lo) / span * (H - 30);
  svg.append(mk("rect", { x: pad, y: y(v.expected + v.tolerance), width: W - pad - 8, height: Math.max(1, y(v.expected - v.tolerance) - y(v.expected + v.tolerance)), fill: "#dff3e6" }));
  svg.append(mk("line", { x1: pad, x2: W - 8, y1: y(v.expected), y2: y(v.expected), stroke: "#17673a", "stroke-dasharray": "4 3" }));
  if (rs.length > 1) svg.append(mk("polyline", { points: rs.map((r) => x(r.time_ms) + "," + y(r.qty)).join(" "), fill: "none", stroke: "#2457c5" }));
  for (const r of rs.slice(-200)) svg.append(mk("circle", { cx: x(r.time_ms), cy: y(r.qty), r: 2.2, fill: r.stable ? "#2457c5" : "#fff", stroke: "#2457c5" }));
  const label = (tx, ty, s) => { const e = mk("text", { x: tx, y: ty }); e.textContent = s; svg.append(e); };
  label(2, y(v.expected) + 4, nf.format(v.expected));
  label(pad, H - 4, rs.length ? new Date(t0).toLocaleTimeString() : "no readings in the last minutes");
  if (rs.length) label(W - 70, H - 4, new Date(t1).toLocaleTimeString());
  return svg;
}

// ltvChart draws a loan's loan-to-value at each revaluation against its
// maintenance level.
function ltvChart(pts) {
  const W = 360, H = 120, pad = 40;
  const mk = (t, a) => { const e = document.createElementNS("http://www.w3.org/2000/svg", t); for (const [k, x] of Object.entries(a)) e.setAttribute(k, x); return e; };
  const svg = mk("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": "LTV " + pts.map((p) => bps(p.ltv)).join(", ") });
  const hi = Math.max(...pts.map((p) => Math.max(p.ltv, p.maint))) * 1.1 || 1;
  const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 1);
  const x = (t) => pad + (t - t0) / (t1 - t0) * (W - pad - 8), y = (v) => H - 16 - v / hi * (H - 26);
  const m = pts[pts.length - 1].maint;
  svg.append(mk("line", { x1: pad, x2: W - 8, y1: y(m), y2: y(m), stroke: "#a4161a", "stroke-dasharray": "4 3" }));
  svg.append(mk("polyline", { points: pts.map((p) => x(p.t) + "," + y(p.ltv)).join(" "), fill: "none", stroke: "#2457c5" }));
  for (const p of pts) svg.append(mk("circle", { cx: x(p.t), cy: y(p.ltv), r: 3, fill: p.ltv > p.maint ? "#a4161a" : "#2457c5" }));
  const t = mk("text", { x: 2, y: y(m) + 4 }); t.textContent = bps(m); svg.append(t);
  return svg;
}

// refreshCharts redraws the open warehouse page's charts every few
// seconds, leaving the rest of the page (and any form being filled) alone.
let chartTimer = null;
function refreshCharts() {
  clearTimeout(chartTimer);
  chartTimer = setTimeout(async () => {
    if (!S.me || !S.route.startsWith("#/warehouse")) return;
    for (const el of document.querySelectorAll("[data-chart]")) {
      try { el.replaceChildren(bayChart(await get(el.dataset.chart))); } catch (_) {}
    }
    refreshCharts();
  }, 5000);
}

async function warehousePage() {
  const whs = (await items("/v1/warehouses?limit=1000")).filter((w) => w.operator === S.me.id || w.collateral_manager === S.me.id || (w.supervisors || []).includes(S.me.id));
  const out = h("div", {}, h("h1", {}, "Your warehouses"));
  if (!whs.length) out.append(h("p", { class: "muted" }, "You run no warehouse."));
  const depositors = S.participants.filter((p) => (p.roles || "").includes("trader"));
  for (const w of whs) {
    const base = "/v1/warehouses/" + encodeURIComponent(w.id);
    const [bays, lots, devices, ros, alerts] = await Promise.all([items(base + "/bays"), items(base + "/lots?limit=1000"), items("/v1/devices?warehouse=" + encodeURIComponent(w.id)),
      items(base + "/release-orders"), items("/v1/alerts?open=true&limit=1000")]);
    const lotOf = Object.fromEntries(lots.map((l) => [l.id, l]));
    const held = bays.filter((b) => b.locked_by);
    const charts = await Promise.all(held.map((b) => get(base + "/bays/" + encodeURIComponent(b.id) + "/readings?minutes=10").catch(() => null)));
    const locked = lots.filter((l) => l.status === "LOCKED");
    const soon = Date.now() / 1000 + 30 * 86400;
    out.append(h("section", { class: "card" }, h("h2", {}, w.name + " (" + w.id + ")"),
      h("h2", {}, "Bays"),
      table([{ label: "Bay", cell: (b) => b.id }, { label: "Empty scale", num: true, cell: (b) => qty(b.tare_kg, "kg") },
        { label: "Lot", cell: (b) => b.locked_by || "free" },
        { label: "Lock band", cell: (b) => { const l = lotOf[b.locked_by]; return l ? qty(l.expected - l.tolerance, l.unit) + " – " + qty(l.expected + l.tolerance, l.unit) : ""; } },
        { label: "Health", cell: (b) => { const l = lotOf[b.locked_by]; return l ? badge(l.health) : ""; } }], bays),
      h("h2", {}, "The bay scales against their lock bands"),
      held.length ? h("div", { class: "grid charts" }, held.map((b, i) => h("figure", { class: "card" }, h("figcaption", {}, "Bay " + b.id + " · lot " + b.locked_by),
        charts[i] ? h("div", { "data-chart": base + "/bays/" + encodeURIComponent(b.id) + "/readings?minutes=10" }, bayChart(charts[i])) : h("p", { class: "muted" }, "No readings on this node.")))) : h("p", { class: "muted" }, "No bay holds a lot."),
      h("h2", {}, "Lots"),
      table([{ label: "Lot", cell: (l) => l.id }, { label: "Status", cell: (l) => badge(l.status) }, { label: "Locked", num: true, cell: (l) => qty(l.locked_qty, l.unit) },
        { label: "Receipts issued", num: true, cell: (l) => qty(l.issued_qty, l.unit) }, { label: "Health", cell: (l) => badge(l.health) }, { label: "Goods", cell: (l) => l.commodity + ", " + l.grade }], lots),
      h("h2", {}, "Weigh in and register a lot"),
      form("Weigh in", [{ name: "bay", label: "Bay", options: bays.filter((b) => !b.locked_by).map((b) => [b.id, b.id]) },
        { name: "nets", label: "Net kg per truck (comma-separated)", pattern: "\\s*\\d+(\\s*,\\s*\\d+)*\\s*", size: 24 },
        { name: "commodity", label: "Commodity", value: "copper cathode" }, { name: "grade", label: "Grade", value: "LME Grade A" }], async (v) => {
        let intake;
        try { intake = await api("POST", "/v1/simulator/intake", { warehouse: w.id, bay: v.bay, nets_kg: v.nets.split(",").map((x) => Number(x.trim())) }); }
        catch (e) { flash(h("p", { class: "problem", role: "alert" }, problemText(e))); return; }
        await act("Register the lot on bay " + v.bay, "POST", "/v1/lots", { warehouse: w.id, bay: v.bay, commodity: v.commodity, grade: v.grade, unit: "kg", tolerance: 150, tickets: intake.tickets });
      }),
      h("h2", {}, "Issue a receipt"),
      locked.length ? form("Issue", [{ name: "lot", label: "Lot", options: locked.map((l) => [l.id, l.id + " (" + qty(l.locked_qty - l.issued_qty, l.unit) + " free)"]) },
        { name: "depositor", label: "Depositor", options: depositors.map((p) => [p.id, p.name]) }, { name: "quantity", label: "Quantity", type: "number", min: 1 },
        { name: "description", label: "Description", size: 30 }], (v) => {
        const now = Math.floor(Date.now() / 1000);
        return act("Issue a receipt", "POST", "/v1/receipts", { lot: v.lot, depositor: v.depositor, negotiable: true, quantity: Number(v.quantity), description: v.description,
          place_of_issue: w.location, storage_until: now + 365 * 86400, valid_until: now + 180 * 86400, storage_agreement_date: now - 86400,
          storage_terms_ref: "console", third_party_claims: "none known", fees: { currency: "USD", minor_per_tonne_per_day: 100 } });
      }) : h("p", { class: "muted" }, "No locked lot to issue against."),
      h("h2", {}, "Open release orders"),
      table([{ label: "Order", cell: (o) => o.id }, { label: "Receipt", cell: (o) => o.receipt }, { label: "Holder", cell: (o) => nameOf(o.holder) }, { label: "Quantity", num: true, cell: (o) => qty(o.quantity, lotOf[o.lot] ? lotOf[o.lot].unit : "") },
        { label: "", cell: (o) => h("button", { type: "button", onclick: async () => {
          let lo;
          try { lo = await get("/v1/simulator/load-outs/" + encodeURIComponent(o.id)); } catch (e) { flash(h("p", { class: "problem", role: "alert" }, problemText(e))); return; }
          if (!lo.done) { flash(h("p", { class: "problem" }, "Release order " + o.id + ": the trucks are still loading, " + (lo.tickets || []).length + " weighed out so far.")); return; }
          await act("Confirm the load-out of " + o.id, "POST", "/v1/release-orders/" + encodeURIComponent(o.id) + "/confirm", { tickets: lo.tickets, closing_reading: lo.closing_reading });
        } }, "Confirm load-out") }], ros, "No load-out is open."),
      h("h2", {}, "Devices"),
      table([{ label: "Device", cell: (d) => d.id }, { label: "Kind", cell: (d) => deviceKind(d.type) }, { label: "Bay", cell: (d) => d.bay || "weighbridge" },
        { label: "Calibrated until", cell: (d) => [day(d.calibrated_until), d.calibrated_until < soon ? h("span", { class: "badge FROZEN" }, " expires soon") : ""] }], devices),
      h("h2", {}, "Open alerts"),
      table([{ label: "Alert", cell: (a) => a.id }, { label: "Lot", cell: (a) => a.lot }, { label: "Kind", cell: (a) => alertKind(a.kind) }, { label: "Raised", cell: (a) => when(a.opened_at) },
        { label: "Evidence", cell: (a) => plural((a.readings || []).length, "signed reading") + " from " + (a.device || "a device") + ((a.frozen || []).length ? "; froze " + a.frozen.join(", ") : "") }], alerts.filter((a) => a.warehouse === w.id), "No open alert."),
      w.collateral_manager === S.me.id ? recountSection(w, lots.filter((l) => l.status === "LOCKED" && l.health !== "OK"), bays, held, charts) : null));
  }
  return out;
}

// recountSection lets the collateral manager re-count a lot in alarm: the
// count, a note, and the bay scale's latest stable signed reading as the
// lock's new baseline; a regulator co-signs from the inbox.
function recountSection(w, alarmed, bays, held, charts) {
  if (!alarmed.length) return [h("h2", {}, "Re-count"), h("p", { class: "muted" }, "No lot is in alarm: nothing to re-count.")];
  const base = "/v1/warehouses/" + encodeURIComponent(w.id);
  return [h("h2", {}, "Re-count a lot in alarm"), ...alarmed.map((l) => {
    const bay = bays.find((b) => b.id === l.bay), i = held.findIndex((b) => b.id === l.bay);
    const last = charts[i] && charts[i].last_stable;
    const goods = last && bay ? Math.max(0, last.reading.weight.qty - bay.tare_kg) : null;
    return h("div", { class: "card" },
      h("p", {}, "Lot " + l.id + " in bay " + l.bay + " is ", badge(l.health), ": locked " + qty(l.locked_qty, l.unit) + ", receipts hold " + qty(l.issued_qty, l.unit) + "."),
      last ? h("p", {}, "The bay scale last read " + qty(last.reading.weight.qty, last.reading.weight.unit) + " (stable, " + when(Math.floor(last.reading.time_ms / 1000)) +
        "): with the empty bay's " + qty(bay.tare_kg, "kg") + " that is about " + qty(goods, l.unit) + " of goods.") : h("p", { class: "muted" }, "No stable reading from the bay scale since the chain last used one: a re-count waits for its next report."),
      form("Re-count " + l.id, [{ name: "counted", label: "Counted (" + l.unit + ")", type: "number", min: 0, value: goods === null ? undefined : goods },
        { name: "note", label: "What the count found", size: 36 }], async (v) => {
        let now;
        try { now = await get(base + "/bays/" + encodeURIComponent(l.bay) + "/readings?minutes=10"); } catch (e) { flash(h("p", { class: "problem", role: "alert" }, problemText(e))); return; }
        if (!now.last_stable) { flash(h("p", { class: "problem", role: "alert" }, "The bay scale has sent no stable reading since the chain last used one: a re-count needs a fresh one as the lock's new baseline. Try again after its next report.")); return; }
        return act("Re-count of " + l.id, "POST", "/v1/lots/" + encodeURIComponent(l.id) + "/recount", { counted: Number(v.counted), note: v.note, version: l.version, baseline: now.last_stable });
      }));
  })];
}

async function bankPage() {
  const me = encodeURIComponent(S.me.id);
  const [pending, active, loans, exposure, alerts, policies, prices] = await Promise.all([items("/v1/pledges?bank=" + me + "&status=PENDING"), items("/v1/pledges?bank=" + me + "&status=ACTIVE&limit=1000"),
    items("/v1/loans?bank=" + me + "&limit=1000"), get("/v1/banks/" + me + "/exposure"), items("/v1/alerts?open=true&limit=1000"),
    items("/v1/credit-policies?bank=" + me + "&limit=1000"), items("/v1/prices?limit=1000")]);
  const toFund = (await items("/v1/trades?party=" + me + "&status=AWAITING_FUNDS&limit=1000")).filter((t) => t.buyer_bank === S.me.id);
  const checks = await Promise.all(pending.map((p) => get("/v1/receipts/" + encodeURIComponent(p.receipt) + "/precheck?currency=USD&borrower=" + encodeURIComponent(p.pledgor)).catch(() => null)));
  const max = Math.max(1, ...(exposure.exposure || []).map((e) => e.quantity));
  const marks = await items("/v1/events?type=loan.revalued&limit=1000").catch(() => []);
  const ltvOf = {};
  for (const e of marks) for (const r of e.refs) if (r.kind === "loan") (ltvOf[r.id] = ltvOf[r.id] || []).push({ t: e.time, ltv: Number(e.attrs.ltv_bps), maint: Number(e.attrs.maintenance_bps) });
  return h("div", {}, h("h1", {}, "Bank"),
    alerts.length ? h("section", { class: "card", "aria-labelledby": "al" }, h("h2", { id: "al" }, "Alerts on your collateral"),
      table([{ label: "Alert", cell: (a) => a.id }, { label: "Lot", cell: (a) => a.lot + " at " + a.warehouse + " / " + a.bay }, { label: "Kind", cell: (a) => alertKind(a.kind) },
        { label: "Raised", cell: (a) => when(a.opened_at) }, { label: "Froze", cell: (a) => (a.frozen || []).map((id) => h("a", { href: "#/receipt/" + encodeURIComponent(id) }, id)) }], alerts)) : null,
    h("section", { class: "card", "aria-labelledby": "req" }, h("h2", { id: "req" }, "Pledge requests"),
      pending.length ? pending.map((p, i) => h("div", { class: "card" },
        h("h2", {}, "Pledge " + p.id + " of ", h("a", { href: "#/receipt/" + encodeURIComponent(p.receipt) }, p.receipt), " by " + nameOf(p.pledgor)),
        kv([["Quantity", qty(p.quantity, "")], ["Maturity", day(p.maturity)], ["Requested", when(p.requested_at)]]),
        checks[i] ? h("div", {}, h("p", {}, checks[i].ok ? "✓ Every pre-lending check passes." : "✗ Some checks fail:"),
          h("ul", {}, checks[i].checks.map((c) => h("li", {}, (c.ok ? "✓ " : "✗ ") + c.name.replaceAll("_", " ") + ": " + c.detail))),
          checks[i].value_minor ? h("p", {}, "Collateral value " + money(checks[i].value_minor, checks[i].currency) + ", lend at most " + money(checks[i].max_principal_minor, checks[i].currency) + ".") : null) : null,
        h("button", { type: "button", onclick: async () => { const r = await get("/v1/receipts/" + encodeURIComponent(p.receipt)); await act("Confirm pledge " + p.id, "POST", "/v1/pledges/" + encodeURIComponent(p.id) + "/confirm", { receipt_version: r.version }); } }, "Confirm"), " ",
        h("button", { type: "button", class: "secondary", onclick: () => act("Reject pledge " + p.id, "POST", "/v1/pledges/" + encodeURIComponent(p.id) + "/reject", { reason: "rejected in the console", version: p.version }) }, "Reject")))
        : h("p", { class: "muted" }, "No pledge request waits for you.")),
    toFund.length ? h("section", { class: "card" }, h("h2", {}, "Trades awaiting your funds"), toFund.map((t) => h("div", {},
      h("p", {}, nameOf(t.buyer) + " buys " + t.receipt + " from " + nameOf(t.seller) + " for " + money(t.price_minor, t.currency) + "."),
      form("Fund " + t.id, [{ name: "ref", label: "Escrow reference", size: 16 }], (v) => act("Funds held for " + t.id, "POST", "/v1/trades/" + encodeURIComponent(t.id) + "/fund",
        { amount_minor: t.price_minor, currency: t.currency, escrow_ref: v.ref }))))) : null,
    h("section", { class: "card", "aria-labelledby": "held" }, h("h2", { id: "held" }, "Pledges you hold"),
      table([{ label: "Pledge", cell: (p) => p.id }, { label: "Receipt", cell: (p) => h("a", { href: "#/receipt/" + encodeURIComponent(p.receipt) }, p.receipt) },
        { label: "Pledgor", cell: (p) => nameOf(p.pledgor) }, { label: "Quantity", num: true, cell: (p) => nf.format(p.quantity) }, { label: "Maturity", cell: (p) => day(p.maturity) },
        { label: "Loan", cell: (p) => p.loan || "none" },
        { label: "", cell: (p) => [p.loan ? null : form("Lend on " + p.id, [{ name: "principal", label: "Principal", type: "number", min: 0.01, step: 0.01, size: 10 },
          { name: "currency", label: "Currency", pattern: "[A-Z]{3}", value: "USD", size: 4 }], (v) => act("Loan on " + p.id, "POST", "/v1/loans",
            { borrower: p.pledgor, pledges: [p.id], currency: v.currency, principal: Math.round(Number(v.principal) * 100), maturity: p.maturity })),
          h("button", { type: "button", class: "secondary", onclick: () => act("Release pledge " + p.id, "POST", "/v1/pledges/" + encodeURIComponent(p.id) + "/release", { version: p.version }) }, "Release"), " ",
          h("button", { type: "button", class: "secondary", onclick: () => act("Enforce pledge " + p.id, "POST", "/v1/pledges/" + encodeURIComponent(p.id) + "/invoke", { version: p.version }) }, "Enforce")] }],
        active, "You hold no pledge.")),
    h("section", { class: "card" }, h("h2", {}, "Loans"),
      table([{ label: "Loan", cell: (l) => l.id }, { label: "Status", cell: (l) => badge(l.status) }, { label: "Borrower", cell: (l) => nameOf(l.borrower) },
        { label: "Principal", num: true, cell: (l) => money(l.principal, l.currency) }, { label: "Outstanding", num: true, cell: (l) => money(l.outstanding, l.currency) },
        { label: "LTV", num: true, cell: (l) => l.call ? bps(l.call.ltv_bps) : (ltvOf[l.id] ? bps(ltvOf[l.id][ltvOf[l.id].length - 1].ltv) : "") },
        { label: "Margin call", cell: (l) => l.call ? h("span", { class: "badge FROZEN" }, "called, cure by " + when(l.call.deadline)) : "none" }, { label: "Maturity", cell: (l) => day(l.maturity) },
        { label: "", cell: (l) => l.status !== "OPEN" ? "" : [
          l.disbursed < l.principal ? form("Disburse " + l.id, [{ name: "amount", label: "Pay out", type: "number", min: 0.01, step: 0.01, max: (l.principal - l.disbursed) / 100, value: (l.principal - l.disbursed) / 100, size: 10 },
            { name: "ref", label: "Reference", size: 10 }], (v) => act("Disbursed on " + l.id, "POST", "/v1/loans/" + encodeURIComponent(l.id) + "/disburse", { amount: Math.round(Number(v.amount) * 100), ref: v.ref, version: l.version })) : null,
          l.outstanding > 0 ? form("Repay " + l.id, [{ name: "amount", label: "Repaid", type: "number", min: 0.01, step: 0.01, max: l.outstanding / 100, value: l.outstanding / 100, size: 10 },
            { name: "ref", label: "Reference", size: 10 }], (v) => act("Repayment on " + l.id, "POST", "/v1/loans/" + encodeURIComponent(l.id) + "/repay", { amount: Math.round(Number(v.amount) * 100), ref: v.ref, version: l.version })) : null] }],
        loans, "No loans.")),
    Object.keys(ltvOf).length ? h("section", { class: "card" }, h("h2", {}, "Loan-to-value over time"),
      h("div", { class: "grid" }, Object.entries(ltvOf).map(([id, pts]) => h("figure", { class: "card" }, h("figcaption", {}, "Loan " + id + ": now " + bps(pts[pts.length - 1].ltv)), ltvChart(pts))))) : null,
    h("section", { class: "card", "aria-labelledby": "pol" }, h("h2", { id: "pol" }, "Credit policies"),
      h("p", { class: "muted" }, "What you lend against a commodity: the haircut taken off its posted price, the loan-to-value allowed at opening, the level past which you call for margin."),
      table([{ label: "Commodity", cell: (p) => p.commodity }, { label: "Haircut", num: true, cell: (p) => bps(p.haircut_bps) }, { label: "Initial LTV", num: true, cell: (p) => bps(p.initial_ltv_bps) },
        { label: "Maintenance LTV", num: true, cell: (p) => bps(p.maintenance_ltv_bps) }, { label: "Margin call grace", num: true, cell: (p) => hours(p.margin_call_grace_sec) },
        { label: "Price no older than", num: true, cell: (p) => p.max_price_age_sec ? hours(p.max_price_age_sec) : "any" }, { label: "Updated", cell: (p) => when(p.updated_at) }], policies, "No credit policy yet: you cannot lend until you set one."),
      form("Set a credit policy", [{ name: "commodity", label: "Commodity", value: "copper cathode" }, { name: "haircut", label: "Haircut %", type: "number", min: 0, max: 99.99, step: 0.01, value: 15 },
        { name: "initial", label: "Initial LTV %", type: "number", min: 0.01, max: 100, step: 0.01, value: 70 }, { name: "maint", label: "Maintenance LTV %", type: "number", min: 0.01, max: 100, step: 0.01, value: 80 },
        { name: "grace", label: "Margin call grace (hours)", type: "number", min: 1, max: 720, value: 48 }, { name: "age", label: "Price no older than (hours, 0 any)", type: "number", min: 0, max: 720, value: 24 }], (v) => {
        if (Number(v.initial) > Number(v.maint)) { flash(h("p", { class: "problem", role: "alert" }, "Check the form: the initial LTV cannot be above the maintenance LTV.")); return; }
        return act("Credit policy for " + v.commodity, "POST", "/v1/credit-policies", { commodity: v.commodity, haircut_bps: Math.round(Number(v.haircut) * 100), initial_ltv_bps: Math.round(Number(v.initial) * 100),
          maintenance_ltv_bps: Math.round(Number(v.maint) * 100), margin_call_grace_sec: Number(v.grace) * 3600, max_price_age_sec: Number(v.age) * 3600 });
      }),
      prices.length ? [h("h2", {}, "Posted prices"), table([{ label: "Commodity", cell: (p) => p.commodity }, { label: "Price per tonne", num: true, cell: (p) => money(p.minor_per_tonne, p.currency) },
        { label: "Posted", cell: (p) => when(p.at) }], prices)] : h("p", { class: "muted" }, "No price is posted: a loan is marked to the oracle's posted price.")),
    h("section", { class: "card" }, h("h2", {}, "Exposure"),
      table([{ label: "Commodity", cell: (e) => e.commodity }, { label: "Warehouse", cell: (e) => e.warehouse }, { label: "Pledges", num: true, cell: (e) => e.pledges },
        { label: "Quantity", num: true, cell: (e) => qty(e.quantity, e.unit) }, { label: "", cell: (e) => h("div", { class: "bar", role: "img", "aria-label": Math.round(e.quantity / max * 100) + "% of the largest" }, h("span", { style: "width:" + (e.quantity / max * 100) + "%" })) }],
        exposure.exposure || [], "No collateral held.")));
}

async function tradingPage() {
  const me = encodeURIComponent(S.me.id);
  const [offers, trades] = await Promise.all([items("/v1/offers?limit=1000"), items("/v1/trades?party=" + me + "&limit=1000")]);
  const banks = S.participants.filter((p) => (p.roles || "").includes("bank"));
  const toMe = offers.filter((o) => o.status === "OPEN" && o.buyer === S.me.id);
  const funded = trades.filter((t) => t.status === "FUNDED");
  return h("div", {}, h("h1", {}, "Trading"),
    toMe.length ? h("section", { class: "card" }, h("h2", {}, "Offers to you"), toMe.map((o) => h("div", {},
      h("p", {}, nameOf(o.seller) + " offers ", h("a", { href: "#/receipt/" + encodeURIComponent(o.receipt) }, o.receipt), " for " + money(o.price_minor, o.currency) + ", until " + when(o.deadline) + "."),
      form("Accept " + o.id, [{ name: "bank", label: "Your bank, which holds the funds", options: banks.map((p) => [p.id, p.name]) }],
        (v) => act("Accept offer " + o.id, "POST", "/v1/offers/" + encodeURIComponent(o.id) + "/accept", { buyer_bank: v.bank }))))) : null,
    funded.length ? h("section", { class: "card" }, h("h2", {}, "Funded: settle"), funded.map((t) => h("p", {}, "Trade " + t.id + ": funds for " + money(t.price_minor, t.currency) + " are held. ",
      h("button", { type: "button", onclick: () => act("Settle " + t.id, "POST", "/v1/trades/" + encodeURIComponent(t.id) + "/settle", {}) }, "Settle: receipt to the buyer, payment to the seller")))) : null,
    h("section", { class: "card" }, h("h2", {}, "Offers"), table([{ label: "Offer", cell: (o) => o.id }, { label: "Status", cell: (o) => badge(o.status) },
      { label: "Receipt", cell: (o) => h("a", { href: "#/receipt/" + encodeURIComponent(o.receipt) }, o.receipt) }, { label: "Seller", cell: (o) => nameOf(o.seller) },
      { label: "Buyer", cell: (o) => nameOf(o.buyer) }, { label: "Price", num: true, cell: (o) => money(o.price_minor, o.currency) }, { label: "Until", cell: (o) => when(o.deadline) }], offers, "No offers.")),
    h("section", { class: "card" }, h("h2", {}, "Trades (delivery versus payment)"), table([{ label: "Trade", cell: (t) => t.id }, { label: "Step", cell: (t) => badge(t.status) },
      { label: "Receipt", cell: (t) => t.receipt }, { label: "Seller", cell: (t) => nameOf(t.seller) }, { label: "Buyer", cell: (t) => nameOf(t.buyer) },
      { label: "Price", num: true, cell: (t) => money(t.price_minor, t.currency) }], trades, "No trades.")));
}

async function oversightPage() {
  const [alerts, frozenEv, st] = await Promise.all([items("/v1/alerts?open=true&limit=1000"), items("/v1/events?type=receipt.frozen&limit=1000"), get("/v1/status")]);
  const ids = [...new Set(frozenEv.flatMap((e) => e.refs.filter((r) => r.kind === "receipt").map((r) => r.id)))];
  const frozen = (await Promise.all(ids.map((id) => get("/v1/receipts/" + encodeURIComponent(id)).catch(() => null)))).filter((r) => r && r.state === "FROZEN");
  return h("div", {}, h("h1", {}, "Oversight"),
    h("section", { class: "card" }, h("h2", {}, "Open alerts"), table([{ label: "Alert", cell: (a) => a.id }, { label: "Warehouse", cell: (a) => a.warehouse + " / " + a.bay },
      { label: "Lot", cell: (a) => a.lot }, { label: "Kind", cell: (a) => alertKind(a.kind) }, { label: "Raised", cell: (a) => when(a.opened_at) },
      { label: "Froze", cell: (a) => (a.frozen || []).map((id) => h("a", { href: "#/receipt/" + encodeURIComponent(id) }, id)) }], alerts, "No open alert.")),
    h("section", { class: "card" }, h("h2", {}, "Frozen receipts"), table(receiptRow([{ label: "Why", cell: (r) => r.frozen ? r.frozen.reason : "" }]), frozen, "No receipt is frozen.")),
    h("section", { class: "card" }, h("h2", {}, "Audit a receipt"), form("Open", [{ name: "id", label: "Receipt id", pattern: "[A-Za-z0-9._:-]{1,64}" }], (v) => { location.hash = "#/receipt/" + encodeURIComponent(v.id); })),
    h("section", { class: "card" }, h("h2", {}, "Chain"), kv([["Chain", st.chain_id], ["Height", st.height], ["Last block", when(st.block_time)],
      ["Read model", st.read_model ? (st.read_model.running ? "at block " + st.read_model.height : "stopped") : "none"]])));
}

window.addEventListener("hashchange", () => { flash(""); render(); });
// A hidden tab gives up its event stream (a browser allows a host six
// connections, across tabs) and catches up when it is shown again.
document.addEventListener("visibilitychange", () => {
  if (!S.me) return;
  if (document.hidden) { if (S.live) { S.live.abort(); S.live = null; } }
  else if (!S.live) { startLive(); render(true); }
});
if (S.token) signIn(S.token); else renderSignIn();
