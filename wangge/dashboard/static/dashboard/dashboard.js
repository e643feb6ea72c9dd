// The command-centre pages: draw the numbers, tables and ECharts charts from the JSON the
// server embedded, then poll the JSON endpoint and redraw without reloading the page.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  var initial = document.getElementById("dashboard-data");
  if (!root || !initial) return;
  var dark = root.dataset.theme === "dark";
  var refresh = parseInt(root.dataset.refresh || "5000", 10);
  // Chart and table words come translated from the page (data-word-*).
  function word(name, fallback) { return root.getAttribute("data-word-" + name) || fallback; }
  var W = {
    received: word("received", "办件"), closed: word("closed", "已办结"),
    open: word("open", "办理中"), overdue: word("overdue", "已超时"), empty: word("empty", "暂无数据"),
  };
  var charts = {};

  // The big screen is laid out at 1920×1080: on any other window it is zoomed to fit whole
  // (a 1440×900 desk monitor, a 4K wall), never cut off or scrolled sideways.
  function fitScreen() {
    if (!root.classList.contains("screen-grid")) return;
    var scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    root.style.zoom = String(Math.round(scale * 1000) / 1000);
  }
  fitScreen();

  function pct(v) {
    return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";
  }
  function score(v) {
    return v === null || v === undefined ? "—" : (v * 100).toFixed(1);
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function link(text, url) {
    if (!url) return el("span", text);
    var a = el("a", text);
    a.href = url;
    return a;
  }

  function counters(data) {
    root.querySelectorAll("[data-counter]").forEach(function (a) {
      var key = a.dataset.counter;
      a.querySelector("strong").textContent = String(data.counters[key]);
      if (data.links[key]) a.href = data.links[key];
    });
    root.querySelectorAll("[data-rate]").forEach(function (box) {
      var key = box.dataset.rate;
      var v = data.rates[key];
      box.querySelector("strong").textContent = key === "composite" ? score(v) : pct(v);
    });
    var stamp = root.querySelector("[data-updated]");
    if (stamp) stamp.textContent = data.generated_at.replace("T", " ").slice(0, 19);
  }

  // The list behind a row's 办理中 or 已超时 number: the row's link with the status or SLA
  // filter the headline counters' links use (the bars and cells linked to every case of the row).
  function narrowed(url, data, which) {
    if (!url) return null;
    var target = new URL(url, window.location.origin);
    if (which === "overdue") {
      target.searchParams.set("sla", "overdue");
    } else {
      var open = new URL(data.links.open, window.location.origin).searchParams.get("status");
      target.searchParams.set("status", open);
    }
    return target.pathname + target.search;
  }

  function tables(data) {
    root.querySelectorAll("[data-table]").forEach(function (tbody) {
      var rows = data[tbody.dataset.table] || [];
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) {
        var tr = el("tr");
        var th = el("th");
        th.appendChild(link(r.label, r.url));
        tr.appendChild(th);
        tr.appendChild(el("td", r.total));
        var open = el("td");
        open.appendChild(r.open ? link(String(r.open), narrowed(r.url, data, "open")) : el("span", "0"));
        tr.appendChild(open);
        var late = el("td", "", r.overdue ? "bad" : "");
        late.appendChild(r.overdue ? link(String(r.overdue), narrowed(r.url, data, "overdue")) : el("span", "0"));
        tr.appendChild(late);
        tr.appendChild(el("td", score(r.rates.composite)));
        frag.appendChild(tr);
      });
      if (!rows.length) {
        var empty = el("tr");
        var td = el("td", W.empty, "muted");
        td.colSpan = 5;
        empty.appendChild(td);
        frag.appendChild(empty);
      }
      tbody.replaceChildren(frag);
    });
    root.querySelectorAll("[data-rank]").forEach(function (ol) {
      var parts = ol.dataset.rank.split(".");
      var rows = ((data.rankings[parts[0]] || {})[parts[1]]) || [];
      ol.replaceChildren.apply(
        ol,
        rows.map(function (r) {
          var li = el("li");
          li.appendChild(link(r.label, r.url));
          li.appendChild(el("b", score(r.rates.composite)));
          return li;
        })
      );
    });
  }

  function chart(name) {
    var box = root.querySelector('[data-chart="' + name + '"]');
    if (!box || !window.echarts) return null;
    if (!charts[name]) charts[name] = window.echarts.init(box, dark ? "dark" : null);
    return charts[name];
  }

  // Months as 2025-11 (11-01 of two years looked alike); days and weeks as MM-DD, with the
  // year when the trend spans more than one.
  function trendLabels(points, unit) {
    if (!points.length) return [];
    var monthly = unit === "month";
    var years = points[0].day.slice(0, 4) !== points[points.length - 1].day.slice(0, 4);
    return points.map(function (d) {
      if (monthly) return d.day.slice(0, 7);
      return years ? d.day : d.day.slice(5);
    });
  }

  var text = dark ? "#cfe3ff" : "#333";
  // A chart with nothing to draw says so (an empty period left blank axes and a blank ring).
  function emptyNote(isEmpty) {
    return {
      elements: isEmpty
        ? [{ type: "text", left: "center", top: "middle", silent: true,
             style: { text: W.empty, fill: dark ? "#8fa8c8" : "#888", fontSize: 14 } }]
        : [],
    };
  }
  function total(rows, key) {
    return rows.reduce(function (sum, r) { return sum + (r[key] || 0); }, 0);
  }
  var REPLACE_NOTE = { replaceMerge: ["graphic"] };
  function drawCharts(data) {
    var trend = chart("trend");
    if (trend) {
      trend.setOption({
        graphic: emptyNote(!total(data.trend, "total") && !total(data.trend, "closed")),
        backgroundColor: "transparent",
        tooltip: { trigger: "axis" },
        legend: { top: 0, data: [W.received, W.closed], textStyle: { color: text } },
        grid: { left: 40, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: trendLabels(data.trend, data.trend_unit) },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: W.received, type: "line", smooth: true, areaStyle: { opacity: 0.15 }, data: data.trend.map(function (d) { return d.total; }) },
          { name: W.closed, type: "line", smooth: true, data: data.trend.map(function (d) { return d.closed; }) },
        ],
      }, REPLACE_NOTE);
    }
    var category = chart("category");
    if (category) {
      category.setOption({
        graphic: emptyNote(!total(data.by_category, "total")),
        backgroundColor: "transparent",
        tooltip: { trigger: "item" },
        // Every class is named in the legend, even when its slice is too thin for a label.
        legend: { type: "scroll", bottom: 0, textStyle: { color: text } },
        series: [{
          type: "pie", radius: ["30%", "54%"], center: ["50%", "44%"],
          // Labels stay inside the box: wrapped, their lines pulled in from the edges.
          label: { color: text, width: 72, overflow: "break", lineHeight: 14 },
          labelLine: { length: 6, length2: 6 },
          labelLayout: { hideOverlap: true, moveOverlap: "shiftY" },
          avoidLabelOverlap: true,
          data: data.by_category.filter(function (r) { return r.total > 0; })
            .map(function (r) { return { name: r.label, value: r.total, url: r.url }; }),
        }],
      }, REPLACE_NOTE);
      category.off("click");
      category.on("click", function (p) { if (p.data && p.data.url) window.location.href = p.data.url; });
    }
    var units = chart("units");
    if (units) {
      units.setOption({
        graphic: emptyNote(!total(data.by_unit, "open") && !total(data.by_unit, "overdue")),
        backgroundColor: "transparent",
        tooltip: { trigger: "axis" },
        legend: { top: 0, data: [W.open, W.overdue], textStyle: { color: text } },
        grid: { left: 8, right: 16, top: 36, bottom: 20, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        // Every street or community named (not every other one), in full.
        yAxis: { type: "category", axisLabel: { interval: 0, color: text, fontSize: 11 }, data: data.by_unit.map(function (r) { return r.label; }) },
        series: [
          { name: W.open, type: "bar", data: data.by_unit.map(function (r) { return { value: r.open, url: narrowed(r.url, data, "open") }; }) },
          { name: W.overdue, type: "bar", itemStyle: { color: "#e5534b" }, data: data.by_unit.map(function (r) { return { value: r.overdue, url: narrowed(r.url, data, "overdue") }; }) },
        ],
      }, REPLACE_NOTE);
      units.off("click");
      units.on("click", function (p) { if (p.data && p.data.url) window.location.href = p.data.url; });
    }
  }

  function draw(data) {
    counters(data);
    tables(data);
    drawCharts(data);
    root.dataset.loaded = data.generated_at;
  }

  draw(JSON.parse(initial.textContent));
  window.addEventListener("resize", function () {
    fitScreen();
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });

  var busy = false;
  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(root.dataset.url + window.location.search, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) { draw(data); root.classList.remove("stale"); })
      .catch(function () { root.classList.add("stale"); })
      .finally(function () { busy = false; });
  }
  window.setInterval(poll, refresh);
})();
