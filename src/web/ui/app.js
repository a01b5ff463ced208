/* cicada's web UI: polls the Locust-compatible JSON endpoints, draws the tables and the charts,
 * and sends the start, edit, stop and reset commands. No framework and no build step; uPlot is
 * the only library. Every value from the server enters the page as text, never as markup. */
(function () {
  "use strict";

  var POLL_MS = 2000;      /* as Locust's UI */
  var TIMEOUT_MS = 8000;   /* a request that takes longer is abandoned; the next poll retries */

  var ui = {
    state: null,           /* the test's state as the server last said */
    timer: 0,
    polling: false,
    tab: "stats",
    stats: null,           /* the last /stats/requests document */
    sort: { key: null, dir: 1 },
    config: null,          /* /config, when the server has it */
    classes: [],           /* the scenario's user classes */
    history: null,         /* column arrays for the charts */
    historyMode: "endpoint", /* "endpoint": stats/history; "poll": built from the polls (older servers) */
    charts: null,
    lastStart: null,       /* the form values of the last start */
    master: false,         /* a master: the Workers tab and figure are shown */
    pendingTab: null       /* a tab asked for by the address before it is shown (Workers) */
  };

  /* ---- helpers ---- */

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function fetchWith(path, opts) {
    var ctl = new AbortController();
    var t = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    opts = opts || {};
    opts.signal = ctl.signal;
    opts.cache = "no-store";
    return fetch(path, opts).finally(function () { clearTimeout(t); });
  }

  function getJSON(path) {
    return fetchWith(path).then(function (r) {
      if (!r.ok) { var e = new Error(path + ": HTTP " + r.status); e.status = r.status; throw e; }
      return r.json();
    });
  }

  /* Times carry three significant digits in milliseconds: 0.213, 4.56, 13.7, 137, 1370. */
  /* Three significant digits and at most three decimals (the statistics' resolution is one
   * microsecond), as the console and the HTML report print times: 0.064, 0.213, 13.7, 1370. */
  function ms(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    v = Number(v);
    if (v <= 0) return "0";
    var unit = Math.pow(10, Math.floor(Math.log10(v)) - 2);
    var r = unit < 0.001 ? Math.round(v * 1000) / 1000 : Math.round(v / unit) * unit;
    if (r === 0) return "0";
    var d = Math.min(3, 2 - Math.floor(Math.log10(r)));
    return r.toFixed(d > 0 ? d : 0);
  }
  function count(v) { return v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US"); }
  function fixed(v, d) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); }
  function pad2(n) { return n < 10 ? "0" + n : String(n); }
  /* Wall-clock time of an epoch second, local time: 08:00:55. */
  function clock(t) {
    var d = new Date(t * 1000);
    return pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  }

  function notice(text) {
    var n = $("notice");
    n.textContent = text || "";
    n.hidden = !text;
  }

  /* ---- the header and the buttons ---- */

  var RUNNING = { spawning: true, running: true };

  function showState(s) {
    var st = s.state || "missing";
    var f = $("f-state");
    f.textContent = st;
    f.className = "state " + st;
    $("f-users").textContent = count(s.user_count);
    $("f-rps").textContent = fixed(s.total_rps, 1);
    $("f-fail").textContent = Math.round((s.fail_ratio || 0) * 100) + "%";
    if (s.host !== undefined && s.host !== null) $("f-host").textContent = s.host || "–";
    $("b-new").hidden = !(st === "ready" || st === "stopped");
    $("b-edit").hidden = !RUNNING[st];
    $("b-stop").hidden = !RUNNING[st];
    var prev = ui.state;
    ui.state = st;
    if (prev !== st) onStateChange(prev, st);
  }

  function onStateChange(prev, st) {
    if (RUNNING[st] && prev && !RUNNING[prev]) {
      /* A new test: its charts start empty; the server's history is the truth. */
      resetHistory();
      refreshHistory(true);
    }
    if (st === "ready" && !prev && !$("d-start").open) openStart();
    /* Started elsewhere (the API, --autostart, another browser): the form has nothing to do. */
    if (RUNNING[st] && $("d-start").open) $("d-start").close();
    if (!RUNNING[st] && $("d-edit").open) $("d-edit").close();
  }

  /* ---- polling: /stats/requests every 2 s, what the visible tab needs beside it ---- */

  function schedule(delay) {
    clearTimeout(ui.timer);
    ui.timer = setTimeout(poll, delay);
  }

  function poll() {
    if (ui.polling) return;
    ui.polling = true;
    getJSON("stats/requests").then(function (s) {
      notice("");
      ui.stats = s;
      showState(s);
      renderStats();
      renderOpenModel(s.open_model);
      renderFailures(s.errors || []);
      showWorkers(s);
      if (ui.historyMode === "poll") appendPolled(s);
      return refreshTab();
    }).catch(function (e) {
      notice("Cannot reach cicada (" + e.message + "); retrying.");
    }).finally(function () {
      ui.polling = false;
      if (!document.hidden) schedule(POLL_MS);
    });
  }

  /* The visible tab's own data, fetched only while it is shown. */
  function refreshTab() {
    switch (ui.tab) {
    case "charts": return refreshHistory(false);
    case "exceptions": return refreshExceptions();
    case "ratio": return refreshRatio();
    case "logs": return refreshLogs();
    case "workers": renderWorkers(); break;
    }
    return Promise.resolve();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) clearTimeout(ui.timer); else schedule(0);
  });

  /* ---- statistics ---- */

  /* A response time of a row: the server's exact value (row.exact, milliseconds as measured)
   * when it sends one, else Locust's field, which Locust rounds to whole milliseconds. */
  function rt(key) {
    return function (r) {
      var v = r.exact && r.exact[key] != null ? r.exact[key] : r[key];
      if (v === undefined && key === "response_time_percentile_0.99") v = r.ninety_ninth_response_time;
      return v;
    };
  }

  /* [key, header, value, format, is text] */
  var COLUMNS = [
    ["method", "Type", function (r) { return r.method || ""; }, String, true],
    ["name", "Name", function (r) { return r.name; }, String, true],
    ["num_requests", "# Requests", function (r) { return r.num_requests; }, count],
    ["num_failures", "# Fails", function (r) { return r.num_failures; }, count],
    ["median", "Median (ms)", rt("median_response_time"), ms],
    ["p95", "95%ile (ms)", rt("response_time_percentile_0.95"), ms],
    ["p99", "99%ile (ms)", rt("response_time_percentile_0.99"), ms],
    ["avg", "Average (ms)", rt("avg_response_time"), ms],
    ["min", "Min (ms)", rt("min_response_time"), ms],
    ["max", "Max (ms)", rt("max_response_time"), ms],
    ["size", "Average size (bytes)", function (r) { return r.avg_content_length; }, function (v) { return count(Math.round(v)); }],
    ["rps", "Current RPS", function (r) { return r.current_rps; }, function (v) { return fixed(v, 1); }],
    ["fps", "Current failures/s", function (r) { return r.current_fail_per_sec; }, function (v) { return fixed(v, 1); }]
  ];

  function buildStatsHead() {
    var t = $("stats-table"), tr = el("tr");
    COLUMNS.forEach(function (c) {
      var th = el("th", null, c[4] ? "text" : "");
      th.setAttribute("aria-sort", "none");
      th.dataset.key = c[0];
      var b = el("button", c[1]);
      b.type = "button";
      b.title = "Sort by " + c[1];
      b.addEventListener("click", function () { sortBy(c[0]); });
      th.appendChild(b);
      tr.appendChild(th);
    });
    t.appendChild(el("thead")).appendChild(tr);
    t.appendChild(el("tbody"));
  }

  function sortBy(key) {
    ui.sort.dir = ui.sort.key === key ? -ui.sort.dir : (key === "name" || key === "method" ? 1 : -1);
    ui.sort.key = key;
    Array.prototype.forEach.call($("stats-table").tHead.rows[0].cells, function (th) {
      th.setAttribute("aria-sort", th.dataset.key !== key ? "none" : ui.sort.dir > 0 ? "ascending" : "descending");
    });
    renderStats();
  }

  function renderStats() {
    var s = ui.stats;
    if (!s) return;
    var rows = (s.stats || []).slice();
    var total = rows.length && rows[rows.length - 1].name === "Aggregated" ? rows.pop() : null;
    if (ui.sort.key) {
      var c = COLUMNS.filter(function (c) { return c[0] === ui.sort.key; })[0], d = ui.sort.dir;
      rows.sort(function (a, b) {
        var x = c[2](a), y = c[2](b);
        if (c[4]) return d * String(x).localeCompare(String(y));
        return d * ((x || 0) - (y || 0));
      });
    }
    var body = el("tbody");
    rows.forEach(function (r) { body.appendChild(statsRow(r, "")); });
    if (total) body.appendChild(statsRow(total, "total"));
    if (!rows.length && !total) {
      var td = el("td", "No requests yet.", "empty text");
      td.colSpan = COLUMNS.length;
      body.appendChild(el("tr")).appendChild(td);
    }
    var t = $("stats-table");
    t.replaceChild(body, t.tBodies[0]);
  }

  function statsRow(r, cls) {
    var tr = el("tr", null, cls);
    COLUMNS.forEach(function (c) {
      var v = c[2](r), td = el("td", c[3](v), c[4] ? "text" : "");
      if (c[0] === "num_failures" && v > 0) td.className = "fail";
      tr.appendChild(td);
    });
    return tr;
  }

  /* ---- the open model: arrivals per class, and service times beside the corrected ones ---- */

  function rowKey(r) { return (r.method || "") + " " + r.name; }

  function renderOpenModel(om) {
    $("open-model").hidden = !om;
    if (!om) return;
    fillTable("arrivals-table", [
      ["Class", function (r) { return r["class"]; }, true],
      ["Scheduled", function (r) { return count(r.scheduled); }],
      ["Started", function (r) { return count(r.started); }],
      ["Dropped", function (r) { return count(r.dropped_iterations); }],
      ["Backlog max", function (r) { return count(r.backlog_max); }],
      ["Late starts", function (r) { return count(r.late_starts); }],
      ["Lateness p50 (ms)", function (r) { return ms((r.lateness_ms || {}).p50); }],
      ["Lateness p99 (ms)", function (r) { return ms((r.lateness_ms || {}).p99); }],
      ["Lateness max (ms)", function (r) { return ms((r.lateness_ms || {}).max); }]
    ], om.classes || [], "No arrival yet.");
    var rows = $("arrivals-table").tBodies[0].rows;
    (om.classes || []).forEach(function (c, i) {
      if (c.dropped_iterations > 0) rows[i].cells[3].className = "fail";
    });
    var corrected = {};
    ((ui.stats && ui.stats.stats) || []).forEach(function (r) { corrected[rowKey(r)] = r; });
    function both(key) {
      var get = rt(key);
      return [function (r) { var c = corrected[rowKey(r)]; return c ? ms(get(c)) : "–"; },
              function (r) { return ms(get(r)); }];
    }
    var p50 = both("median_response_time"), p95 = both("response_time_percentile_0.95"),
        p99 = both("response_time_percentile_0.99"), max = both("max_response_time");
    fillTable("service-table", [
      ["Type", function (r) { return r.method || ""; }, true],
      ["Name", function (r) { return r.name; }, true],
      ["# Requests", function (r) { return count(r.num_requests); }],
      ["Median: schedule", p50[0]], ["service", p50[1]],
      ["95%ile: schedule", p95[0]], ["service", p95[1]],
      ["99%ile: schedule", p99[0]], ["service", p99[1]],
      ["Max: schedule", max[0]], ["service", max[1]]
    ], om.service_time || [], "No request yet.");
    var svc = $("service-table").tBodies[0].rows, n = (om.service_time || []).length;
    if (n && om.service_time[n - 1].name === "Aggregated") svc[n - 1].className = "total";
  }

  /* ---- failures, exceptions, ratio, logs ---- */

  function fillTable(id, cols, rows, none) {
    var t = $(id);
    t.textContent = "";
    var tr = el("tr");
    cols.forEach(function (c) { tr.appendChild(el("th", c[0], c[2] ? "text" : "")); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = t.appendChild(el("tbody"));
    if (!rows.length) {
      var td = el("td", none, "empty text");
      td.colSpan = cols.length;
      body.appendChild(el("tr")).appendChild(td);
    }
    rows.forEach(function (r) {
      var tr = body.appendChild(el("tr"));
      cols.forEach(function (c) {
        var td = el("td", null, c[2] ? "text " + (c[2] === true ? "" : c[2]) : "");
        var v = c[1](r);
        if (c[2] === "pre") td.appendChild(el("pre", v)); else td.textContent = v;
        tr.appendChild(td);
      });
    });
  }

  function renderFailures(errors) {
    $("n-failures").textContent = errors.length ? String(errors.length) : "";
    fillTable("failures-table", [
      ["# Failures", function (r) { return count(r.occurrences); }],
      ["Method", function (r) { return r.method || ""; }, true],
      ["Name", function (r) { return r.name; }, true],
      ["Message", function (r) { return r.error; }, "wrap"]
    ], errors, "No failures.");
  }

  function refreshExceptions() {
    return getJSON("exceptions").then(function (d) {
      var rows = d.exceptions || [];
      $("n-exceptions").textContent = rows.length ? String(rows.length) : "";
      fillTable("exceptions-table", [
        ["Count", function (r) { return count(r.count); }],
        ["Message", function (r) { return r.msg; }, "wrap"],
        ["Traceback", function (r) { return r.traceback; }, "pre"]
      ], rows, "No exceptions.");
    });
  }

  function ratioList(tree) {
    var ul = el("ul");
    Object.keys(tree || {}).forEach(function (k) {
      var li = ul.appendChild(el("li"));
      li.appendChild(el("span", (tree[k].ratio * 100).toFixed(1) + "%", "pct"));
      li.appendChild(document.createTextNode(k));
      if (tree[k].tasks && Object.keys(tree[k].tasks).length) li.appendChild(ratioList(tree[k].tasks));
    });
    return ul;
  }

  function refreshRatio() {
    return getJSON("tasks").then(function (d) {
      [["ratio-class", d.per_class], ["ratio-total", d.total]].forEach(function (p) {
        var box = $(p[0]);
        box.textContent = "";
        box.appendChild(p[1] && Object.keys(p[1]).length ? ratioList(p[1]) : el("p", "No user classes.", "empty"));
      });
    });
  }

  function refreshLogs() {
    return getJSON("logs").then(function (d) {
      var lines = Array.isArray(d.logs) ? d.logs : (d.master || []);
      Object.keys(d.workers || {}).forEach(function (w) {
        (d.workers[w] || []).forEach(function (l) { lines.push(w + ": " + l); });
      });
      var pre = $("logs");
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = lines.length ? lines.join("\n") : "No log lines.";
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    }).catch(function (e) {
      if (e.status === 404) $("logs").textContent = "This server keeps no log for the UI.";
      else throw e;
    });
  }

  /* ---- a master's workers ---- */

  /* Shows the Workers tab and figure once the server is known to be a master: /config says so
   * (cicada), or /stats/requests carries "workers" (Locust sends it only from a master). */
  function setMaster(on) {
    if (on === ui.master) return;
    ui.master = on;
    $("t-workers").hidden = !on;
    $("f-workers-box").hidden = !on;
    if (on && ui.pendingTab) selectTab(ui.pendingTab, false);
    ui.pendingTab = null;
  }

  function isMissing(w) { return w.state === "missing"; }

  function showWorkers(s) {
    if (!ui.config && Array.isArray(s.workers)) setMaster(true);
    if (!ui.master) return;
    var list = s.workers || [];
    var missing = list.filter(isMissing).length;
    var n = s.worker_count != null ? s.worker_count : list.length - missing;
    $("f-workers").textContent = count(n);
    $("n-missing").textContent = missing ? String(missing) : "";
    if (ui.tab === "workers") renderWorkers();
  }

  /* Bytes as the heartbeat gives them, in MB (10^6 bytes) as `ps` and the reports print them. */
  function megabytes(v) { return v == null ? "–" : (Number(v) / 1e6).toFixed(1) + " MB"; }

  function renderWorkers() {
    var list = ((ui.stats && ui.stats.workers) || []).slice().sort(function (a, b) {
      return String(a.id).localeCompare(String(b.id));
    });
    fillTable("workers-table", [
      ["Worker", function (r) { return r.id; }, true],
      ["State", function (r) { return r.state || "–"; }, "state-cell"],
      ["# users", function (r) { return count(r.user_count); }],
      ["CPU usage", function (r) { return fixed(r.cpu_usage, 1) + " %"; }],
      ["Memory usage", function (r) { return megabytes(r.memory_usage); }]
    ], list, "No worker has connected yet.");
    var rows = $("workers-table").tBodies[0].rows;
    list.forEach(function (w, i) { if (isMissing(w)) rows[i].className = "missing"; });
  }

  /* ---- charts: the whole test, one point a second ---- */

  function resetHistory() {
    ui.history = { t: [], rps: [], fps: [], p50: [], p95: [], p99: [], users: [] };
    drawCharts();
  }

  function pushSample(t, rps, fps, p50, p95, p99, users) {
    var h = ui.history, n = h.t.length;
    if (n && t <= h.t[n - 1]) {
      if (t < h.t[n - 1]) return;
      n--; /* the same second again: its newer value wins */
      ["t", "rps", "fps", "p50", "p95", "p99", "users"].forEach(function (k) { h[k].length = n; });
    }
    h.t.push(t); h.rps.push(rps); h.fps.push(fps); h.p50.push(p50); h.p95.push(p95);
    h.p99.push(p99); h.users.push(users);
  }

  /* Fetches the samples newer than the last one held (all of them when full). */
  function refreshHistory(full) {
    if (ui.historyMode !== "endpoint") { drawCharts(); return Promise.resolve(); }
    var h = ui.history, since = !full && h.t.length ? h.t[h.t.length - 1] : 0;
    return getJSON("stats/history?since=" + since).then(function (d) {
      /* Another test than the one drawn (started from elsewhere): start over. */
      if (!full && d.test_start !== undefined && ui.testStart !== undefined && d.test_start !== ui.testStart) {
        ui.testStart = d.test_start;
        return refreshHistory(true);
      }
      ui.testStart = d.test_start;
      if (full) resetHistory();
      (d.history || []).forEach(function (x) {
        pushSample(x.timestamp, x.current_rps, x.current_fail_per_sec,
                   x.response_time_percentile_50, x.response_time_percentile_95,
                   x.response_time_percentile_99 == null ? null : x.response_time_percentile_99,
                   x.user_count);
      });
      drawCharts();
    }).catch(function (e) {
      if (e.status !== 404) throw e;
      /* A server without the history endpoint: build the charts from the polls, as Locust does. */
      ui.historyMode = "poll";
      drawCharts();
    });
  }

  function appendPolled(s) {
    var total = (s.stats || []).filter(function (r) { return r.name === "Aggregated"; })[0] || {};
    var pct = s.current_response_time_percentiles || {};
    var p50 = pct["response_time_percentile_0.5"], p95v = pct["response_time_percentile_0.95"];
    if (p50 === undefined) p50 = s.current_response_time_percentile_50;
    if (p95v === undefined) p95v = s.current_response_time_percentile_95;
    if (!RUNNING[s.state] && ui.history.t.length) return;
    pushSample(Math.floor(Date.now() / 1000), s.total_rps || 0, s.total_fail_per_sec || total.current_fail_per_sec || 0,
               p50 || 0, p95v || 0, null, s.user_count || 0);
    if (ui.tab === "charts") drawCharts();
  }

  var CHARTS = [
    { title: "Requests per second", unit: "requests/s", series: [["RPS", "#0b8a3e", "rps"], ["Failures/s", "#d32f2f", "fps"]], fmt: function (v) { return fixed(v, 1); } },
    { title: "Response times (10 s window)", unit: "ms", series: [["p50", "#1565c0", "p50"], ["p95", "#ef6c00", "p95"], ["p99", "#6d4c41", "p99"]], fmt: ms },
    { title: "Number of users", unit: "users", series: [["Users", "#6a1b9a", "users"]], fmt: count }
  ];

  /* Whole seconds only: a time axis never repeats a label. */
  var CHART_H = 210;
  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

  /* The legend shows the hovered point, else the latest one. */
  function legendValue(fmt) {
    return function (u, v, si, idx) {
      if (idx == null) { var d = u.data[si]; v = d.length ? d[d.length - 1] : null; }
      return v == null ? "–" : fmt(v);
    };
  }

  function chartWidth() { return Math.max(300, $("charts").clientWidth - 20); }

  function makeCharts() {
    var box = $("charts");
    ui.charts = CHARTS.map(function (c) {
      var div = box.appendChild(el("div", null, "chart"));
      var opts = {
        title: c.title, width: chartWidth(), height: CHART_H,
        scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
        series: [{ label: "Time", value: legendValue(clock) }].concat(c.series.map(function (s) {
          return { label: s[0], stroke: s[1], width: 2, points: { show: false },
                   value: legendValue(function (v) { return c.fmt(v) + " " + c.unit; }) };
        })),
        axes: [
          { values: function (u, splits) { return splits.map(clock); }, space: 70, incrs: TIME_STEPS },
          { label: c.unit, size: 64, values: function (u, splits) { return splits.map(c.fmt); } }
        ],
        cursor: { drag: { x: false, y: false } }
      };
      return { def: c, plot: new uPlot(opts, columns(c), div) };
    });
  }

  function columns(c) {
    var h = ui.history;
    return [h.t].concat(c.series.map(function (s) { return h[s[2]]; }));
  }

  function drawCharts() {
    if (ui.tab !== "charts" || typeof uPlot === "undefined") return;
    if (!ui.charts) { makeCharts(); return; }
    ui.charts.forEach(function (ch) { ch.plot.setData(columns(ch.def)); });
  }

  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (!ui.charts || ui.tab !== "charts") return;
      ui.charts.forEach(function (ch) { ch.plot.setSize({ width: chartWidth(), height: CHART_H }); });
    }, 150);
  });

  /* ---- tabs: arrow keys move between them (WAI-ARIA tabs pattern) ---- */

  function tabs() { return Array.prototype.slice.call(document.querySelectorAll("[role=tab]")); }
  function shownTabs() { return tabs().filter(function (t) { return !t.hidden; }); }

  function selectTab(tab, focus) {
    tabs().forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) tab.focus();
    ui.tab = tab.id.slice(2);
    if (history.replaceState) history.replaceState(null, "", "#" + ui.tab);
    if (ui.tab === "charts" && ui.charts) {
      ui.charts.forEach(function (ch) { ch.plot.setSize({ width: chartWidth(), height: CHART_H }); });
    }
    drawCharts();
    refreshTab().catch(function (e) { notice(e.message); });
  }

  function setupTabs() {
    tabs().forEach(function (t) {
      t.addEventListener("click", function () { selectTab(t, false); });
      t.addEventListener("keydown", function (e) {
        /* The tabs shown now: Workers comes and goes with the server. */
        var list = shownTabs(), i = list.indexOf(t);
        var j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 }[e.key];
        if (j === undefined) return;
        e.preventDefault();
        selectTab(list[(j + list.length) % list.length], true);
      });
    });
    var first = location.hash && $("t-" + location.hash.slice(1));
    if (first && first.hidden) ui.pendingTab = first;
    else if (first) selectTab(first, false);
  }

  /* ---- commands ---- */

  function post(path, form) {
    return fetchWith(path, { method: "POST", body: new URLSearchParams(form) }).then(function (r) {
      return r.json().catch(function () { return { success: r.ok, message: "HTTP " + r.status }; });
    });
  }

  function formError(form, text) {
    var p = form.querySelector(".error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function fillClasses(names, selected) {
    ui.classes = names;
    var list = $("class-list");
    list.textContent = "";
    names.forEach(function (n) {
      var label = list.appendChild(el("label"));
      var cb = label.appendChild(el("input"));
      cb.type = "checkbox";
      cb.name = "user_classes";
      cb.value = n;
      cb.checked = !selected || selected.indexOf(n) >= 0;
      label.appendChild(document.createTextNode(n));
    });
    $("classes").hidden = names.length < 2;
  }

  function openStart() {
    var f = $("f-start"), c = ui.config || {}, last = ui.lastStart;
    formError(f, "");
    if (last) {
      f.user_count.value = last.user_count; f.spawn_rate.value = last.spawn_rate;
      f.host.value = last.host; f.run_time.value = last.run_time;
    } else {
      if (c.num_users) f.user_count.value = c.num_users;
      if (c.spawn_rate) f.spawn_rate.value = c.spawn_rate;
      if (c.host) f.host.value = c.host;
      if (c.run_time) f.run_time.value = c.run_time;
    }
    $("d-start").showModal();
    f.user_count.focus();
  }

  function openEdit() {
    var f = $("f-edit");
    formError(f, "");
    f.user_count.value = (ui.stats && ui.stats.user_count) || (ui.lastStart && ui.lastStart.user_count) || 1;
    f.spawn_rate.value = (ui.lastStart && ui.lastStart.spawn_rate) || (ui.config && ui.config.spawn_rate) || 1;
    $("d-edit").showModal();
    f.user_count.focus();
  }

  function submitSwarm(e, dialog, isStart) {
    e.preventDefault();
    var f = e.target, fd = new FormData(f);
    if (isStart) {
      var boxes = f.querySelectorAll("input[name=user_classes]");
      if (boxes.length && !f.querySelector("input[name=user_classes]:checked")) {
        formError(f, "Choose at least one user class.");
        return;
      }
      if (!fd.get("run_time")) fd.delete("run_time");
      ui.lastStart = { user_count: fd.get("user_count"), spawn_rate: fd.get("spawn_rate"),
                       host: fd.get("host") || "", run_time: fd.get("run_time") || "" };
    } else if (ui.lastStart) {
      ui.lastStart.user_count = fd.get("user_count");
      ui.lastStart.spawn_rate = fd.get("spawn_rate");
    }
    var button = f.querySelector("[type=submit]");
    button.disabled = true;
    post("swarm", fd).then(function (r) {
      if (!r.success) { formError(f, r.message || "The test could not start."); return; }
      if (r.host) $("f-host").textContent = r.host;
      dialog.close();
      if (isStart) selectTab($("t-stats"), false);
      schedule(0);
    }).catch(function (err) {
      formError(f, "Cannot reach cicada: " + err.message);
    }).finally(function () { button.disabled = false; });
  }

  function setupCommands() {
    $("b-new").addEventListener("click", openStart);
    $("b-edit").addEventListener("click", openEdit);
    $("b-stop").addEventListener("click", function () {
      getJSON("stop").then(function () { schedule(0); }, function (e) { notice(e.message); });
    });
    $("b-reset").addEventListener("click", function () {
      fetchWith("stats/reset").then(function () { schedule(0); }, function (e) { notice(e.message); });
    });
    $("f-start").addEventListener("submit", function (e) { submitSwarm(e, $("d-start"), true); });
    $("f-edit").addEventListener("submit", function (e) { submitSwarm(e, $("d-edit"), false); });
    Array.prototype.forEach.call(document.querySelectorAll("dialog .cancel"), function (b) {
      b.addEventListener("click", function () { b.closest("dialog").close(); });
    });
  }

  /* What the start form offers: /config when the server has it, else the classes from /tasks. */
  function loadConfig() {
    return getJSON("config").then(function (c) {
      ui.config = c;
      setMaster(!!c.is_distributed);
      if (c.host) $("f-host").textContent = c.host;
      fillClasses(c.user_classes || c.available_user_classes || [], c.selected_user_classes || null);
    }).catch(function () {
      return getJSON("tasks").then(function (d) { fillClasses(Object.keys(d.per_class || {}), null); }, function () {});
    });
  }

  /* ---- start ---- */

  buildStatsHead();
  resetHistory();
  setupCommands();
  setupTabs();
  loadConfig().finally(poll);
})();
