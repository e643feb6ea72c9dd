// The public map: street outlines, and open and recently closed cases as dots (no personal data
// reaches this page), filtered by class.
(function () {
  "use strict";
  var el = document.getElementById("public-map");
  if (!el || !window.L) { return; }
  var filter = document.getElementById("map-filter"), select = document.getElementById("map-category");
  var counter = document.getElementById("map-count");
  var c = (el.getAttribute("data-center") || "116.4074,39.9042").split(",");
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.5 }).setView([parseFloat(c[1]), parseFloat(c[0])], 13);
  var tileUrl = el.getAttribute("data-tile-url");
  if (tileUrl) { L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map); }
  fetch(el.getAttribute("data-streets-url"), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (fc) {
      if (!fc || !fc.features.length) { return; }
      var outline = L.geoJSON(fc, { style: { color: "#0b6bcb", weight: 1.5, fillOpacity: 0.03 }, interactive: false }).addTo(map);
      outline.bringToBack();
      if (outline.getBounds().isValid()) { map.fitBounds(outline.getBounds(), { padding: [8, 8] }); }
    });
  var dots = L.layerGroup().addTo(map);
  function popup(p) {
    var box = document.createElement("div");
    var title = document.createElement("strong"); title.textContent = (p.icon ? p.icon + " " : "") + p.category; box.appendChild(title);
    // The legend's word first (办理中 / 已办结), then the exact status where it says more.
    var group = el.getAttribute(p.open ? "data-msg-open" : "data-msg-closed-group") || "";
    var line = document.createElement("div");
    line.textContent = group + (p.status && p.status !== group ? " · " + p.status : "");
    line.className = p.open ? "status-open" : "status-closed";
    box.appendChild(line);
    var date = document.createElement("div"); date.className = "muted";
    date.textContent = el.getAttribute("data-msg-reported") + " " + p.reported + (p.closed ? " · " + el.getAttribute("data-msg-closed") + " " + p.closed : "");
    box.appendChild(date);
    return box;
  }
  function load() {
    var url = filter.getAttribute("data-geojson-url") + (select.value ? "?category=" + encodeURIComponent(select.value) : "");
    el.removeAttribute("data-loaded");
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        dots.clearLayers();
        fc.features.forEach(function (f) {
          var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          var open = f.properties.open;
          // 9 px: a dot a finger can tap on a phone.
          L.circleMarker(ll, { radius: 9, weight: 2, color: "#fff", fillColor: open ? "#c8102e" : "#1a7f37", fillOpacity: 0.9 })
            .bindPopup(popup(f.properties)).addTo(dots);
        });
        counter.textContent = fc.features.length + " " + counter.getAttribute("data-msg-count") + (fc.truncated ? counter.getAttribute("data-msg-truncated") : "");
        el.setAttribute("data-loaded", String(fc.features.length));
      });
  }
  select.addEventListener("change", load);
  filter.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  load();
})();
