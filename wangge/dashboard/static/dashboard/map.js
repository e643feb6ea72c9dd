// The dashboard's map of grids: polygons from /dashboard/map.json coloured by the chosen metric
// (open, overdue, cases per 1,000 residents); a click opens the case list of that grid. The
// colours and the legend come from the server; the map refreshes with the rest of the page.
(function () {
  "use strict";
  var box = document.querySelector("[data-grid-map]");
  if (!box) return;
  if (typeof L === "undefined") {
    box.dataset.mapState = "error";
    return;
  }
  var select = document.querySelector("[data-map-metric]");
  var legendBox = document.querySelector("[data-map-legend]");
  var refresh = parseInt(box.dataset.refresh || "5000", 10);
  var tileUrl = box.dataset.tileUrl || "";
  var MAX_PERMANENT_LABELS = 40;
  var map = L.map(box, { zoomSnap: tileUrl ? 1 : 0.25, attributionControl: Boolean(tileUrl) });
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: box.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  }
  var layer = null;
  var fitted = false;
  var busy = false;
  // The boundaries drawn (the answer's "shapes"): a poll sends it back and gets colours only.
  var shapes = "";

  function shown(p, metric) {
    if (metric === "per_1000") return p.value === null ? box.dataset.msgNoData : String(p.value);
    return String(p.value);
  }

  function describe(p, metric) {
    var lines = [p.name, box.dataset.msgOpen + " " + p.open, box.dataset.msgOverdue + " " + p.overdue];
    if (metric === "per_1000") {
      lines.push(box.dataset.msgCases + " " + p.total + " · " + box.dataset.msgResidents + " " + p.residents);
      lines.push(box.dataset.msgPerThousand + " " + shown(p, metric));
    }
    return lines.join("\n");
  }

  function drawLegend(rows) {
    if (!legendBox) return;
    legendBox.replaceChildren.apply(
      legendBox,
      rows.map(function (r) {
        var li = document.createElement("li");
        var swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = r.colour;
        li.appendChild(swatch);
        li.appendChild(document.createTextNode(r.label));
        return li;
      })
    );
  }

  function style(p) {
    return {
      color: "#4a5568",
      weight: 1,
      opacity: 0.8,
      fillColor: p.fill,
      fillOpacity: 0.85,
      className: "grid grid-" + p.code,
    };
  }

  function sameGrids(data) {
    if (!layer) return false;
    var codes = {};
    layer.eachLayer(function (l) {
      codes[l.feature.properties.code] = true;
    });
    return (
      Object.keys(codes).length === data.features.length &&
      data.features.every(function (f) {
        return codes[f.properties.code];
      })
    );
  }

  function draw(data) {
    var permanent = data.features.length <= MAX_PERMANENT_LABELS;
    if (data.geometry === "unchanged" && !sameGrids(data)) {
      // Told the shapes are known, but these are other grids: ask again with the shapes.
      shapes = "";
      busy = false;
      load();
      return;
    }
    shapes = data.shapes || "";
    if (sameGrids(data)) {
      // The same grids: recolour and relabel in place (a poll every few seconds).
      var byCode = {};
      data.features.forEach(function (f) {
        byCode[f.properties.code] = f.properties;
      });
      layer.eachLayer(function (l) {
        var p = byCode[l.feature.properties.code];
        l.feature.properties = p;
        l.setStyle(style(p));
        l.setTooltipContent(permanent ? shown(p, data.metric) : describe(p, data.metric));
      });
    } else {
      if (layer) layer.remove();
      layer = L.geoJSON(data, {
        style: function (f) {
          return style(f.properties);
        },
        onEachFeature: function (f, lyr) {
          var p = f.properties;
          lyr.bindTooltip(permanent ? shown(p, data.metric) : describe(p, data.metric), {
            permanent: permanent,
            direction: "center",
            className: permanent ? "map-value map-value-" + p.code : "map-tip",
          });
          lyr.on("click", function () {
            window.location.assign(lyr.feature.properties.url);
          });
          lyr.on("mouseover", function () {
            lyr.setStyle({ weight: 3 });
          });
          lyr.on("mouseout", function () {
            lyr.setStyle({ weight: 1 });
          });
        },
      }).addTo(map);
    }
    if (!fitted) {
      var bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
      else map.setView([39.93, 116.41], 12);
      fitted = true;
    }
    drawLegend(data.legend || []);
    box.dataset.metric = data.metric;
    box.dataset.featureCount = String(data.features.length);
    box.dataset.mapState = "ready";
  }

  function load() {
    if (busy || document.hidden) return;
    busy = true;
    var params = new URLSearchParams(window.location.search);
    params.set("metric", select ? select.value : "open");
    if (shapes && layer) params.set("shapes", shapes);
    fetch(box.dataset.url + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(draw)
      .catch(function () {
        box.dataset.mapState = "error";
        box.title = box.dataset.msgError || "";
      })
      .finally(function () {
        busy = false;
      });
  }

  if (select) {
    select.addEventListener("change", function () {
      box.dataset.mapState = "loading";
      load();
    });
  }
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      map.invalidateSize();
    }).observe(box);
  }
  load();
  window.setInterval(load, refresh);
})();
