// app.js: the router (#/page/argument), the live stream and the header's clock.
"use strict";

const PAGES = {connections: connectionsPage, attempt: attemptPage, authorizers: authorizersPage, functions: functionsPage, logs: logsPage, clock: clockPage};
let current = {};

async function route() {
  if (current.dispose) current.dispose();
  current = {};
  const [, name = "connections", arg] = location.hash.split("/").map(decodeURIComponent);
  const page = PAGES[name] || connectionsPage;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === name || (name === "attempt" && a.dataset.page === "connections"));
  const main = document.getElementById("page");
  main.replaceChildren();
  main.dataset.page = name;
  delete main.dataset.ready;
  const hooks = await guard(() => page(main, arg));
  current = hooks || {};
  main.dataset.ready = "1";
}

function live() {
  const badge = document.getElementById("live");
  const src = new EventSource("/console/live");
  src.addEventListener("open", () => { badge.className = "live on"; });
  src.addEventListener("error", () => { badge.className = "live off"; });
  src.addEventListener("event", m => { if (current.onEvent) current.onEvent(JSON.parse(m.data)); });
  src.addEventListener("resync", () => { if (current.resync) current.resync(); });
}

async function tickClock() {
  try {
    const c = await api("/clock");
    document.getElementById("clock-now").textContent = "emulator time " + c.now.slice(0, 19).replace("T", " ") + " UTC";
  } catch (e) { /* the emulator stopped: the live badge says so */ }
}

window.addEventListener("hashchange", route);
window.addEventListener("clockmoved", () => { tickClock(); if (current.clockMoved) current.clockMoved(); });
route();
live();
tickClock();
setInterval(tickClock, 5000);
