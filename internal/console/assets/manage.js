// manage.js: the pages that mirror AWS's consoles (authorizers, functions, logs) and the
// clock. Every change goes through the control plane or the admin endpoint.
"use strict";

// Authorizers: IoT console, Security > Authorizers.
async function authorizersPage(main) {
  main.append(el("h1", {}, "Authorizers"));
  const sec = el("section", {});
  main.append(sec);
  async function load() {
    const [list, def] = await Promise.all([aws("GET", "/authorizers/"), api("/console/api/default-authorizer")]);
    const descs = await Promise.all((list.authorizers || []).map(a => aws("GET", "/authorizer/" + encodeURIComponent(a.authorizerName))));
    sec.replaceChildren(table(["Name", "Function", "Status", "Token key name", "Signing", "Signing keys", ""], descs.map(d => authorizerRow(d.authorizerDescription, def.name, load)), "auto"));
  }
  await load();
  return {};
}

function authorizerRow(a, defaultName, reload) {
  const next = a.status === "ACTIVE" ? "INACTIVE" : "ACTIVE";
  const toggle = el("button", {class: "toggle-status", "data-name": a.authorizerName, onclick: () => guard(async () => {
    await aws("PUT", "/authorizer/" + encodeURIComponent(a.authorizerName), {status: next});
    toast(a.authorizerName + " is now " + next);
    await reload();
  })}, "Set " + next);
  const keys = a.tokenSigningPublicKeys || {};
  const editor = el("textarea", {}, JSON.stringify(keys, null, 2));
  const save = el("button", {onclick: () => guard(async () => {
    let k;
    try { k = JSON.parse(editor.value); } catch (e) { throw new Error("the keys must be a JSON object of key name to PEM text: " + e.message); }
    await aws("PUT", "/authorizer/" + encodeURIComponent(a.authorizerName), {tokenSigningPublicKeys: k});
    toast("keys of " + a.authorizerName + " saved");
    await reload();
  })}, "Save keys");
  return el("tr", {"data-authorizer": a.authorizerName},
    el("td", {}, a.authorizerName, a.authorizerName === defaultName ? el("span", {class: "tag"}, "default") : null),
    el("td", {title: a.authorizerFunctionArn}, a.authorizerFunctionArn),
    el("td", {class: "status " + (a.status === "ACTIVE" ? "ok" : "bad")}, a.status),
    el("td", {}, a.tokenKeyName || "—"),
    el("td", {}, a.signingDisabled ? "disabled" : "enabled"),
    el("td", {class: "wrap"}, el("details", {}, el("summary", {}, Object.keys(keys).join(", ") || "none"), editor, save)),
    el("td", {}, toggle));
}

// Functions: Lambda console, the Monitor and Permissions tabs.
async function functionsPage(main, name) {
  const d = await api("/console/api/functions");
  const fns = d.functions;
  main.append(el("h1", {}, "Functions"));
  if (!fns.length) { main.append(el("p", {class: "muted"}, "no functions are configured")); return {}; }
  const fn = fns.find(f => f.name === name) || fns[0];
  const pick = el("select", {onchange: () => { location.hash = "#/functions/" + encodeURIComponent(pick.value); }}, fns.map(f => el("option", {value: f.name, selected: f.name === fn.name}, f.name)));
  const body = el("div", {});
  const tabs = el("div", {class: "tabs"});
  const show = tab => {
    for (const b of tabs.children) b.classList.toggle("active", b.dataset.tab === tab);
    body.replaceChildren();
    return guard(() => tab === "monitor" ? monitor(body, fn) : permissions(body, fn));
  };
  tabs.append(el("button", {"data-tab": "monitor", onclick: () => show("monitor")}, "Monitor"), el("button", {"data-tab": "permissions", onclick: () => show("permissions")}, "Permissions"));
  main.append(el("div", {class: "filters"}, "Function ", pick, el("span", {class: "muted"}, fn.arn)), tabs, body);
  await show("monitor");
  return {};
}

// monitor draws the Monitor tab's charts from the invocation datapoints.
function monitor(body, fn) {
  const pts = fn.points;
  const end = pts.length ? Math.max(...pts.map(p => p.t)) + 1000 : Date.now();
  const start = pts.length ? Math.min(...pts.map(p => p.t)) : end - 60000;
  const n = 30, width = Math.max(1000, Math.ceil((end - start) / n / 1000) * 1000);
  const bins = Array.from({length: n}, () => ({inv: 0, err: 0, th: 0, cold: 0, durs: []}));
  const first = end - n * width;
  for (const p of pts) {
    const i = Math.floor((p.t - first) / width);
    if (i < 0 || i >= n) continue;
    const b = bins[i];
    if (p.th) { b.th++; continue; }
    b.inv++; if (p.e) b.err++; if (p.c) b.cold++; b.durs.push(p.d);
  }
  const pct = (a, q) => { if (!a.length) return 0; const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; };
  const charts = [
    ["Invocations", [bins.map(b => b.inv)], ["#0b5cad"], []],
    ["Errors", [bins.map(b => b.err)], ["#b3261e"], []],
    ["Duration (ms)", [bins.map(b => pct(b.durs, .5)), bins.map(b => pct(b.durs, .99))], ["#0b5cad", "#ff9900"], ["p50", "p99"]],
    ["Throttles", [bins.map(b => b.th)], ["#8a5a00"], []],
    ["Cold starts", [bins.map(b => b.cold)], ["#1e7d3a"], []],
  ];
  const clock = t => new Date(t).toISOString().slice(11, 19);
  body.append(el("p", {class: "muted"}, pts.length + " datapoints; each bar is " + width / 1000 + " s, ending " + new Date(end).toISOString().slice(11, 19) + " UTC"),
    el("div", {class: "charts"}, charts.map(([title, series, colors, names]) => {
      const c = el("canvas", {width: 380, height: 150, "data-chart": title});
      drawChart(c, series, colors, [clock(first), clock(end)]);
      const legend = names.map((nm, k) => { const s = el("span", {class: "legend"}, nm); s.style.color = colors[k]; return s; });
      return el("div", {class: "chart"}, el("div", {class: "title"}, title + " (max " + Math.max(0, ...series.flat()).toFixed(names.length ? 1 : 0) + ")", legend), c);
    })));
}

// drawChart draws series as bars (one series) or lines (several) on a canvas, the time span
// under the axis.
function drawChart(c, series, colors, span) {
  const g = c.getContext("2d"), w = c.width, h = c.height, pad = 18;
  const max = Math.max(1, ...series.flat()), n = series[0].length, bw = (w - pad) / n;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#dde1e8"; g.fillStyle = "#6b7385"; g.font = "10px sans-serif";
  for (const f of [0, .5, 1]) {
    const y = h - pad - f * (h - 2 * pad);
    g.beginPath(); g.moveTo(pad, y); g.lineTo(w, y); g.stroke();
    g.fillText(String(+(max * f).toFixed(1)), 0, y + 3);
  }
  g.fillText(span[0], pad, h - 4);
  g.fillText(span[1], w - g.measureText(span[1]).width - 2, h - 4);
  series.forEach((s, k) => {
    g.fillStyle = g.strokeStyle = colors[k];
    if (series.length === 1) {
      s.forEach((v, i) => { const bh = v / max * (h - 2 * pad); g.fillRect(pad + i * bw + 1, h - pad - bh, bw - 2, bh); });
    } else {
      g.lineWidth = 2; g.beginPath();
      s.forEach((v, i) => { const x = pad + i * bw + bw / 2, y = h - pad - v / max * (h - 2 * pad); i ? g.lineTo(x, y) : g.moveTo(x, y); });
      g.stroke();
    }
  });
}

// permissions shows the function's resource-based policy and adds or removes AWS IoT's
// permission to invoke it (Lambda's GetPolicy, AddPermission, RemovePermission).
async function permissions(body, fn) {
  const path = "/2015-03-31/functions/" + encodeURIComponent(fn.name) + "/policy";
  // GetPolicy answers a policy without statements with ResourceNotFoundException (404).
  const fresh = (await api("/console/api/functions")).functions.find(f => f.name === fn.name) || fn;
  const doc = fresh.statements ? JSON.parse((await aws("GET", path)).Policy || "{}") : {};
  const sts = doc.Statement || [];
  const list = await aws("GET", "/authorizers/");
  const sid = el("input", {id: "perm-sid", value: "iot-invoke-" + Date.now().toString(36)});
  const source = el("select", {id: "perm-source"}, (list.authorizers || []).map(a => el("option", {value: a.authorizerArn}, a.authorizerArn)));
  const reload = () => { body.replaceChildren(); return guard(() => permissions(body, fn)); };
  body.append(el("section", {}, el("h2", {}, "Resource-based policy statements"),
    sts.length ? table(["Sid", "Effect", "Principal", "Action", "Condition", ""], sts.map(st => el("tr", {"data-sid": st.Sid},
      el("td", {}, st.Sid), el("td", {}, st.Effect), el("td", {}, JSON.stringify(st.Principal)), el("td", {}, st.Action),
      el("td", {title: JSON.stringify(st.Condition || {})}, JSON.stringify(st.Condition || {})),
      el("td", {}, el("button", {class: "remove-perm", onclick: () => guard(async () => { await aws("DELETE", path + "/" + encodeURIComponent(st.Sid)); toast("removed " + st.Sid); await reload(); })}, "Remove")))), "auto")
      : el("p", {class: "bad"}, "No statement: AWS IoT may not invoke this function, and every connection through its authorizers fails."),
    sts.length ? el("pre", {}, pretty(doc)) : null),
    el("section", {}, el("h2", {}, "Add AWS IoT's permission"), el("div", {class: "filters"}, "Statement ID ", sid, " Source ARN ", source,
      el("button", {class: "primary", id: "add-perm", onclick: () => guard(async () => {
        await aws("POST", path, {StatementId: sid.value, Action: "lambda:InvokeFunction", Principal: "iot.amazonaws.com", SourceArn: source.value});
        toast("added " + sid.value); await reload();
      })}, "Add permission"))));
}

// Logs: CloudWatch Logs Insights over the AWS IoT log group and the functions' log groups.
async function logsPage(main) {
  const groups = await aws("POST", "/", {}, "Logs_20140328.DescribeLogGroups");
  const pick = el("select", {id: "log-group"}, (groups.logGroups || []).map(g => el("option", {value: g.logGroupName}, g.logGroupName)));
  const q = el("textarea", {id: "query"}, "fields @timestamp, @message\n| sort @timestamp desc\n| limit 100");
  const out = el("div", {id: "results"});
  const run = () => guard(async () => {
    const t0 = performance.now();
    const s = await aws("POST", "/", {logGroupName: pick.value, queryString: q.value, startTime: 0, endTime: 4102444800}, "Logs_20140328.StartQuery");
    let r;
    for (let i = 0; i < 50; i++) {
      r = await aws("POST", "/", {queryId: s.queryId}, "Logs_20140328.GetQueryResults");
      if (r.status !== "Running" && r.status !== "Scheduled") break;
      await new Promise(ok => setTimeout(ok, 100));
    }
    const rows = r.results || [];
    const fields = [...new Set(rows.flatMap(row => row.map(c => c.field)).filter(f => f !== "@ptr"))];
    out.replaceChildren(el("p", {class: "muted"}, rows.length + " rows, " + (r.statistics ? r.statistics.recordsScanned + " records scanned, " : "") + Math.round(performance.now() - t0) + " ms"),
      table(fields, rows.map(row => el("tr", {}, fields.map(f => { const c = row.find(x => x.field === f); return el("td", {title: c ? c.value : ""}, c ? c.value : ""); }))), "results"));
  });
  pick.addEventListener("change", run);
  main.append(el("h1", {}, "Logs"), el("section", {}, el("h2", {}, "Logs Insights"),
    el("div", {class: "filters"}, "Log group ", pick, el("button", {class: "primary", id: "run-query", onclick: run}, "Run query")), q), el("section", {}, out));
  await run();
  return {};
}

// Clock: the emulator's clock and "advance by".
async function clockPage(main) {
  const now = el("div", {id: "clock-value", class: "tag"});
  const by = el("input", {id: "advance-by", value: "301s"});
  const timers = el("div", {});
  async function load() {
    const c = await api("/clock");
    now.textContent = c.now;
    const cs = await api("/console/api/connections?limit=500");
    const nowMs = new Date(cs.now).getTime();
    const rows = [];
    for (const x of cs.connections) {
      if (x.refreshAt) rows.push([new Date(x.refreshAt).getTime(), "refresh", x.clientId]);
      if (x.disconnectAt) rows.push([new Date(x.disconnectAt).getTime(), "disconnect", x.clientId]);
    }
    rows.sort((a, b) => a[0] - b[0]);
    timers.replaceChildren(rows.length ? table(["Due in", "Timer", "Client ID"], rows.slice(0, 100).map(r => el("tr", {}, el("td", {}, left((r[0] - nowMs) / 1000)), el("td", {}, r[1]), el("td", {}, r[2]))))
      : el("p", {class: "muted"}, "no connection has a timer pending"));
  }
  const advance = d => guard(async () => {
    const r = await api("/clock/advance?by=" + encodeURIComponent(d), {method: "POST"});
    toast("clock advanced by " + d + ": now " + r.now);
    await load();
    window.dispatchEvent(new Event("clockmoved"));
  });
  main.append(el("h1", {}, "Clock"), el("section", {}, el("p", {}, "Emulator time ", now),
    el("div", {class: "filters"}, "Advance by ", by, el("button", {class: "primary", id: "advance", onclick: () => advance(by.value)}, "Advance"),
      ["1m", "5m", "1h", "24h"].map(d => el("button", {onclick: () => advance(d)}, "+" + d))),
    el("p", {class: "muted"}, "Advancing runs every authorizer refresh and disconnectAfterInSeconds that falls due, as time passing would.")),
    el("section", {}, el("h2", {}, "Pending timers"), timers));
  await load();
  return {clockMoved: () => guard(load)};
}
