// pages.js: the console's pages. Each page function fills the main element and returns
// hooks the router calls: onEvent (a live AWS log event) and dispose.
"use strict";

const EVENT_TYPES = ["Connect", "Connection.AuthNError", "Disconnect", "Publish-In", "Publish-Out", "Subscribe", "Unsubscribe"];
const PAGE = 100;

// Connections: current connections and every attempt, live.
function connectionsPage(main) {
  const f = {client: el("input", {placeholder: "client id contains", id: "f-client"}),
             status: el("select", {id: "f-status"}, ["", "Success", "Failure"].map(s => el("option", {value: s}, s || "any status"))),
             type: el("select", {id: "f-type"}, ["", ...EVENT_TYPES].map(s => el("option", {value: s}, s || "any event")))};
  const curBody = el("tbody", {id: "current"}), curInfo = el("span", {}), evBody = el("tbody", {id: "attempts"}), evInfo = el("span", {});
  let curOffset = 0, before = 0, stored = 0, timer;
  const prevCur = el("button", {onclick: () => { curOffset = Math.max(0, curOffset - PAGE); guard(loadCurrent); }}, "Previous");
  const nextCur = el("button", {onclick: () => { curOffset += PAGE; guard(loadCurrent); }}, "Next");
  const newest = el("button", {onclick: () => { before = 0; guard(loadEvents); }}, "Newest");
  const older = el("button", {id: "older", onclick: () => { before = older.dataset.pos; guard(loadEvents); }}, "Older");
  main.append(
    el("h1", {}, "Connections"),
    el("div", {class: "filters"}, f.client, f.status, f.type),
    el("section", {}, el("h2", {}, "Current connections ", curInfo),
      el("div", {class: "scroll"}, el("table", {class: "current"}, el("thead", {}, el("tr", {}, ["Client ID", "Principal", "Protocol", "Source", "Refresh in", "Disconnect in", "Policy", ""].map(h => el("th", {}, h)))), curBody)),
      el("div", {class: "pager"}, prevCur, nextCur)),
    el("section", {}, el("h2", {}, "Attempts and events ", evInfo),
      el("table", {class: "events"}, el("thead", {}, el("tr", {}, ["Time (UTC)", "Event", "Status", "Client ID", "Principal", "Authorizer", "Protocol", "Source", "Reason"].map(h => el("th", {}, h)))), evBody),
      el("div", {class: "pager"}, newest, older)));
  const params = () => new URLSearchParams({client: f.client.value, status: f.status.value, type: f.type.value});
  let curData = null;
  async function loadCurrent() {
    const p = new URLSearchParams({client: f.client.value, offset: curOffset, limit: PAGE});
    curData = await api("/console/api/connections?" + p);
    drawCurrent();
  }
  function drawCurrent() {
    if (!curData) return;
    const now = new Date(curData.now).getTime();
    curBody.replaceChildren(...curData.connections.map(c => el("tr", {},
      el("td", {title: c.connectionId}, c.clientId), el("td", {}, c.principalId), el("td", {}, c.protocol), el("td", {}, c.source),
      el("td", {}, c.refreshAt ? left((new Date(c.refreshAt) - now) / 1000) : "never"),
      el("td", {}, c.disconnectAt ? left((new Date(c.disconnectAt) - now) / 1000) : "never"),
      el("td", {}, el("details", {}, el("summary", {}, c.policyDocuments.length + " document(s)"), c.policyDocuments.map(d => el("pre", {}, pretty(d))))),
      el("td", {}, el("a", {href: "#/attempt/" + encodeURIComponent(c.traceId)}, "explain")))));
    curInfo.textContent = "(" + curData.total + ")" + (curData.total > PAGE ? ", showing " + (curOffset + 1) + "–" + Math.min(curData.total, curOffset + PAGE) : "");
    prevCur.disabled = curOffset === 0;
    nextCur.disabled = curOffset + PAGE >= curData.total;
  }
  function row(r) {
    const e = r.event;
    return el("tr", {class: "click", "data-trace": e.traceId, "data-client": e.clientId || "", "data-event": e.eventType, onclick: () => { location.hash = "#/attempt/" + encodeURIComponent(e.traceId); }},
      el("td", {}, e.timestamp), el("td", {}, e.eventType), el("td", {class: e.status}, e.status), el("td", {}, e.clientId || ""),
      el("td", {}, e.principalId || ""), el("td", {}, r.authorizer || ""), el("td", {}, e.protocol || ""),
      el("td", {}, e.sourceIp ? e.sourceIp + ":" + e.sourcePort : ""), el("td", {title: e.details || ""}, [e.reason, e.disconnectReason].filter(Boolean).join(" ")));
  }
  async function loadEvents() {
    const p = params();
    p.set("limit", PAGE);
    if (before) p.set("before", before);
    const t0 = performance.now();
    const d = await api("/console/api/events?" + p);
    evBody.replaceChildren(...d.events.map(row));
    window.lastRenderMs = performance.now() - t0;
    older.dataset.pos = d.older;
    older.disabled = !d.older;
    newest.disabled = !before;
    stored = d.stored;
    evInfo.textContent = "(" + stored + " stored" + (before ? ", older page" : ", live") + ")";
  }
  function matches(e) {
    return (!f.client.value || (e.clientId || "").includes(f.client.value)) && (!f.status.value || e.status === f.status.value) && (!f.type.value || e.eventType === f.type.value);
  }
  const reload = () => guard(async () => { curOffset = 0; before = 0; await Promise.all([loadCurrent(), loadEvents()]); });
  let typing;
  for (const x of Object.values(f)) x.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(reload, 150); });
  reload();
  timer = setInterval(() => guard(loadCurrent), 2000);
  let pending;
  return {
    onEvent(r) {
      const e = r.event;
      stored++;
      evInfo.textContent = "(" + stored + " stored" + (before ? ", older page" : ", live") + ")";
      if (e.eventType === "Connect" || e.eventType === "Disconnect") {
        clearTimeout(pending);
        pending = setTimeout(() => guard(loadCurrent), 100);
      }
      if (before || !matches(e)) return;
      evBody.prepend(row(r));
      while (evBody.children.length > PAGE) evBody.lastChild.remove();
    },
    resync: reload,
    clockMoved: () => guard(loadCurrent),
    dispose() { clearInterval(timer); clearTimeout(pending); clearTimeout(typing); },
  };
}

// The canonical path of a custom authentication attempt, and how the trace names its steps.
const STEPS = [
  ["tls", "TLS: SNI, ALPN, port"], ["credentials", "Credentials"], ["authorizer", "Authorizer chosen"], ["token", "Token"],
  ["signature", "Signature"], ["event", "Event sent"], ["invoke", "Function answer"], ["response", "Answer validation"], ["connect", "Policy decision"],
];

// Attempt: one attempt explained.
async function attemptPage(main, traceId) {
  main.append(el("h1", {}, "Attempt ", el("span", {class: "muted"}, traceId)));
  const d = await api("/console/api/attempt?trace=" + encodeURIComponent(traceId));
  const events = d.events.map(e => JSON.parse(JSON.stringify(e)));
  const failed = events.some(e => e.status === "Failure");
  const steps = d.steps || [];
  const byName = n => steps.find(s => s.step === n);
  let failing = failed && steps.length ? steps[steps.length - 1] : null;
  const decision = steps.find(s => s.data && s.data.allowed === false);
  if (failed && decision) failing = decision;
  const why = el("div", {id: "steps"});
  const known = new Set(STEPS.map(s => s[0]));
  // The last canonical step the trace reached: untraced steps before it passed silently.
  const last = Math.max(-1, ...steps.map(s => STEPS.findIndex(c => c[0] === s.step)));
  STEPS.forEach(([name, label], i) => {
    const s = byName(name);
    if (s) { why.append(stepCard(label, s, s === failing)); return; }
    if (name === "tls" && last > 0) {
      why.append(el("div", {class: "step", "data-step": name}, el("span", {class: "badge ok"}, "passed"), el("span", {class: "name"}, label), "the handshake was accepted (SNI, ALPN and port)"));
    } else if (i > last) {
      why.append(el("div", {class: "step skipped", "data-step": name}, el("span", {class: "name"}, label), failing ? "not reached" : "not recorded"));
    }
  });
  for (const s of steps) if (!known.has(s.step)) why.append(stepCard(s.step, s, s === failing));
  const ev = byName("event"), inv = byName("invoke");
  const answer = inv && inv.data && inv.data.response;
  const aws = el("div", {id: "aws-log"}, events.map(e => el("pre", {}, JSON.stringify(e, null, 2))));
  const fnLog = (d.functionLog || []).length ? el("pre", {id: "function-log"}, d.functionLog.join("\n")) : el("p", {class: "muted"}, "no function log for this attempt");
  main.append(el("div", {class: "cols"},
    el("section", {}, el("h2", {}, "Why (the decision trace)"), why),
    el("section", {}, el("h2", {}, "What AWS logs"), aws, el("h2", {}, "Function log"), fnLog)));
  main.append(el("div", {class: "cols"},
    el("section", {}, el("h2", {}, "Event sent to the function"), ev && ev.data ? el("pre", {id: "event-json"}, pretty(ev.data.event)) : el("p", {class: "muted"}, "no event was sent")),
    el("section", {}, el("h2", {}, "Function answer"), answer ? el("pre", {id: "answer-json"}, pretty(answer)) : el("p", {class: "muted"}, "no answer"))));
  const decisions = steps.filter(s => s.data && "allowed" in s.data);
  if (answer && typeof answer === "object" && Array.isArray(answer.policyDocuments)) {
    main.append(el("section", {}, el("h2", {}, "Policy documents"), answer.policyDocuments.map((doc, i) => policyDoc("policyDocuments[" + i + "]", doc, decisions))));
  }
  return {};
}

function stepCard(label, s, failing) {
  return el("div", {class: "step" + (failing ? " failed" : ""), "data-step": s.step},
    el("span", {class: "badge " + (failing ? "bad" : "ok")}, failing ? "failed here" : "passed"),
    el("span", {class: "name"}, label), s.message,
    s.data && s.step !== "event" && s.step !== "invoke" ? el("details", {}, el("summary", {class: "muted"}, "data"), el("pre", {}, pretty(s.data))) : null);
}

// policyDoc shows one policy document statement by statement, marking the statements that
// decided a check of this attempt.
function policyDoc(name, text, decisions) {
  let doc = text; // a JSON string, as AWS documents it, or an object, which the emulator also accepts
  if (typeof text === "string") {
    try { doc = JSON.parse(text); } catch (e) { return el("div", {"data-doc": name}, el("h2", {}, name), el("pre", {}, text)); }
  }
  const sts = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return el("div", {"data-doc": name}, el("h2", {}, name, el("span", {class: "tag"}, "Version " + (doc.Version || "?"))),
    sts.map((st, i) => {
      const ds = decisions.filter(d => d.data.document === name && d.data.statement === i);
      const cls = "stmt" + (ds.length ? " decided" + (ds.some(d => !d.data.allowed) ? " deny" : "") : "");
      return el("div", {}, ds.map(d => el("div", {class: d.data.allowed ? "ok" : "bad"}, "▶ decided " + d.data.action + " on " + d.data.resource + ": " + (d.data.allowed ? "allowed" : "denied"))),
        el("pre", {class: cls, "data-statement": i}, JSON.stringify(st, null, 2)));
    }));
}
