// ui.js: small DOM and HTTP helpers shared by the console's pages. Everything the emulator
// sends is put in the page as text, never as HTML.
"use strict";

// el builds an element: el("td", {class: "x", onclick: f}, "text", child, ...).
function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "class") n.className = v;
    else n.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

// api fetches the console's own JSON API and the admin endpoint.
async function api(path, opts) {
  const r = await fetch(path, opts);
  const text = await r.text();
  let body = {};
  try { body = text ? JSON.parse(text) : {}; } catch (e) { body = {message: text}; }
  if (!r.ok) throw new Error(body.message || body.Message || (r.status + " " + r.statusText));
  return body;
}

// aws calls the control plane, mounted at /console/aws/, the way the aws CLI does.
function aws(method, path, body, target) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = target ? "application/x-amz-json-1.1" : "application/json";
  if (target) headers["X-Amz-Target"] = target;
  return api("/console/aws" + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
}

function toast(msg, isError) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.className = isError ? "error" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 3000);
}

// guard runs an async action and shows its error instead of throwing it.
async function guard(f) {
  try { return await f(); } catch (e) { toast(e.message, true); }
}

function pretty(v) {
  if (typeof v === "string") { try { v = JSON.parse(v); } catch (e) { return v; } }
  return JSON.stringify(v, null, 2);
}

// left formats a duration in seconds as "4m 59s", or "due" when it is not positive.
function left(seconds) {
  if (seconds <= 0) return "due";
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600),
        m = Math.floor(seconds % 3600 / 60), s = Math.floor(seconds % 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + s + "s";
}

function table(headers, rows, cls) {
  return el("table", {class: cls}, el("thead", {}, el("tr", {}, headers.map(h => el("th", {}, h)))), el("tbody", {}, rows));
}
