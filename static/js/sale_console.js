/* The on-sale console: polls its JSON every few seconds and updates the
   numbers, tables and uPlot charts in place (no reload). Times on the charts'
   axes are in the event's time zone; the room controls ask for confirmation. */
(function () {
  "use strict";
  var root = document.getElementById("sale-console");
  if (!root) return;
  var labels = JSON.parse(document.getElementById("sale-console-labels").textContent);
  var tz = root.dataset.tz;
  var interval = parseInt(root.dataset.interval, 10) || 5000;
  var lang = document.documentElement.lang || "ru";
  var fmt = new Intl.NumberFormat(lang, {maximumFractionDigits: 3});
  var money = new Intl.NumberFormat(lang, {maximumFractionDigits: 0});
  var charts = {};

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  function get(data, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, data);
  }

  function show(value, isMoney) {
    if (value === null || value === undefined || value === "") return "—";
    if (isMoney) return money.format(Number(value));
    if (typeof value === "number") return fmt.format(value);
    return String(value);
  }

  function localTime(unix, seconds) {
    var opts = {timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23"};
    if (seconds !== false) opts.second = "2-digit";
    return new Date(unix * 1000).toLocaleTimeString(lang, opts);
  }

  function fillTable(id, rows, cells) {
    var body = document.querySelector("#" + id + " tbody");
    if (!body) return;
    body.textContent = "";
    if (!rows.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 9; td.textContent = labels.none; tr.appendChild(td); body.appendChild(tr);
      return;
    }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cells(row).forEach(function (text) {
        var td = document.createElement("td"); td.textContent = text; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function plot(id, series, unit) {
    var el = document.getElementById(id);
    if (!el) return null;
    var colours = ["#d7263d", "#1a7f37", "#2f6fdf", "#9a6700", "#6f42c1"];
    var opts = {
      width: Math.max(el.clientWidth, 240),
      height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); },
      series: [{label: labels.time, value: function (u, v) { return v == null ? "—" : localTime(v); }}].concat(series.map(function (name, i) {
        return {label: name, stroke: colours[i % colours.length], width: 2,
                value: function (u, v) { return v == null ? "—" : fmt.format(v); }};
      })),
      axes: [
        // Local clock times in the event's zone, at least a minute apart on
        // the sales charts, ten seconds on the queue's (its points are 10 s).
        {label: labels.time_axis, space: 70, incrs: [10, 30, 60, 120, 300, 600, 900, 1800, 3600],
         values: function (u, splits) { return splits.map(function (v) { return localTime(v, v % 60 !== 0); }); }},
        {label: unit, size: 60, values: function (u, vals) { return vals.map(function (v) { return fmt.format(v); }); }}
      ],
      scales: {x: {time: true}, y: {range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; }}},
      legend: {live: true}
    };
    var empty = [[]].concat(series.map(function () { return []; }));
    var chart = new uPlot(opts, empty, el);
    el.dataset.points = "0";
    return chart;
  }

  function setData(name, data) {
    var chart = charts[name];
    if (!chart) return;
    chart.setData(data);
    chart.root.parentNode.dataset.points = String(data[0].length);
  }

  function render(data) {
    root.querySelectorAll("[data-k]").forEach(function (el) {
      var key = el.dataset.k;
      if (key === "updated" || key === "stale") return;
      var value = get(data, key);
      if (key === "queue.state") {
        var flags = [];
        if (data.queue) {
          flags.push(labels.states[data.queue.state] || data.queue.state || "—");
          // The state already says "paused" or "closed" when that is what rules.
          if (data.queue.paused && data.queue.state !== "paused") flags.push(labels.paused);
          if (data.queue.draining && data.queue.state !== "closed") flags.push(labels.draining);
        }
        el.textContent = flags.join(" · ") || "—";
        return;
      }
      el.textContent = show(value, el.hasAttribute("data-money"));
    });
    root.querySelector("[data-k=updated]").textContent = localTime(data.now);
    root.querySelector("[data-k=stale]").hidden = true;

    var s = data.sales;
    fillTable("tiers", s.tiers, function (t) {
      return [t.name, show(t.price, true), show(t.sold), show(t.revenue, true), show(t.left) + " / " + show(t.capacity)];
    });
    (data.allocations || []).forEach(function (a) {
      var row = root.querySelector("tr[data-allocation='" + a.id + "']");
      if (!row) return;
      ["sold", "held", "left"].forEach(function (k) {
        row.querySelector("[data-a=" + k + "]").textContent = show(a[k]);
      });
      row.querySelector("[data-a=state]").textContent = a.released ? labels.released : labels.reserved;
    });
    fillTable("refusals", data.refusals, function (r) { return [r.reason, show(r.n)]; });
    fillTable("declines", data.payments.declined_by_reason, function (r) { return [r.reason, show(r.n)]; });
    fillTable("views", data.health.views, function (v) {
      return [v.view, show(v.rps), (v.error_rate * 100).toFixed(2) + " %", v.p95_over ? "> 10000" : show(v.p95_ms)];
    });

    if (data.queue) {
      var q = data.queue.series;
      setData("queue", [q.map(function (p) { return p.t; }), q.map(function (p) { return p.waiting; }),
                        q.map(function (p) { return p.active; }), q.map(function (p) { return p.admitted; })]);
    }
    setData("sales", [s.minutes, s.holds, s.orders, s.paid, s.tickets]);
    setData("errors", [s.minutes, s.refusals, s.errors]);
  }

  function poll() {
    fetch(root.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render)
      .catch(function () { root.querySelector("[data-k=stale]").hidden = false; })
      .finally(function () { window.setTimeout(poll, interval); });
  }

  function start() {
    charts.queue = plot("chart-queue", [labels.waiting, labels.active, labels.admitted_total], labels.visitors);
    charts.sales = plot("chart-sales", [labels.holds, labels.orders, labels.paid, labels.tickets], labels.per_minute);
    charts.errors = plot("chart-errors", [labels.refusals, labels.errors], labels.per_minute);
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (k) {
        var c = charts[k];
        if (c) c.setSize({width: Math.max(c.root.parentNode.clientWidth, 240), height: 220});
      });
    });
    var initial = document.getElementById("sale-console-initial");
    if (initial) {
      render(JSON.parse(initial.textContent));
      window.setTimeout(poll, interval);
    } else {
      poll();
    }
  }
  start();
})();
