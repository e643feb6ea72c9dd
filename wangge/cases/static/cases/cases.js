// Case pages: deadline countdowns, the location pin on the detail page, the list's filters, and
// the patrol report form (GPS or map tap, photo previews and resizing before upload).
// No inline scripts: the CSP allows only files like this one.
(function () {
  "use strict";

  function tiles(map, el) {
    var url = el.getAttribute("data-tile-url");
    if (url) { L.tileLayer(url, { maxZoom: 19 }).addTo(map); }
  }

  // Countdown to a deadline, refreshed every 30 s. The words come translated from the page
  // (#countdown-words: "{d}", "{h}", "{m}" and "{t}" are filled in here).
  function countdown() {
    var els = document.querySelectorAll(".countdown[data-due]");
    var words = document.getElementById("countdown-words");
    function word(name, fallback) {
      return (words && words.getAttribute("data-" + name)) || fallback;
    }
    function fill(pattern, values) {
      return pattern.replace(/\{(\w)\}/g, function (_all, key) { return String(values[key]); });
    }
    function tick() {
      var now = Date.now();
      els.forEach(function (el) {
        var ms = new Date(el.getAttribute("data-due")).getTime() - now;
        var abs = Math.abs(ms), d = Math.floor(abs / 864e5), h = Math.floor(abs % 864e5 / 36e5), m = Math.floor(abs % 36e5 / 6e4);
        var parts = { d: d, h: h, m: m };
        var text = d ? fill(word("days", "{d}天{h}小时"), parts)
          : (h ? fill(word("hours", "{h}小时{m}分"), parts) : fill(word("minutes", "{m}分钟"), parts));
        el.textContent = fill(ms >= 0 ? word("left", "剩余 {t}") : word("late", "已超时 {t}"), { t: text });
        el.classList.toggle("late", ms < 0);
        el.classList.toggle("soon", ms >= 0 && ms < 864e5);
      });
    }
    if (els.length) { tick(); setInterval(tick, 30000); }
  }

  function caseMap() {
    var el = document.getElementById("case-map");
    if (!el || !window.L) { return; }
    var ll = [parseFloat(el.getAttribute("data-lat")), parseFloat(el.getAttribute("data-lon"))];
    var map = L.map(el, { attributionControl: false, scrollWheelZoom: false }).setView(ll, 17);
    tiles(map, el);
    var gridUrl = el.getAttribute("data-grid-url");
    if (gridUrl) {
      fetch(gridUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fc) {
          if (!fc) { return; }
          var polygons = { type: "FeatureCollection", features: fc.features.filter(function (f) { return f.geometry && f.geometry.type !== "Point"; }) };
          var layer = L.geoJSON(polygons, { style: { color: "#0b6bcb", weight: 2, fillOpacity: 0.04 }, interactive: false }).addTo(map);
          var bounds = layer.getBounds();
          if (bounds.isValid()) { map.fitBounds(bounds.extend(ll), { padding: [16, 16], maxZoom: 17 }); }
        });
    }
    L.circleMarker(ll, { radius: 9, color: "#c8102e", weight: 3, fillOpacity: 0.6 }).addTo(map);
  }

  // The list's filters stay folded on a phone and open on a desk.
  function filters() {
    var more = document.querySelector(".filter-more");
    if (more && window.matchMedia("(min-width: 800px)").matches) { more.open = true; }
  }

  // Resize a photo in the browser so uploads stay small on a phone network.
  function resize(file, maxSide) {
    return new Promise(function (resolve) {
      if (!/^image\/(jpeg|png|webp)$/.test(file.type)) { resolve(file); return; }
      var img = new Image();
      var url = URL.createObjectURL(file);
      img.onload = function () {
        URL.revokeObjectURL(url);
        var scale = Math.min(1, maxSide / Math.max(img.width, img.height));
        if (scale === 1 && file.size < 1500000) { resolve(file); return; }
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }

  function previews(files) {
    var list = document.getElementById("photo-previews");
    if (!list) { return; }
    list.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    list.textContent = "";
    files.forEach(function (f) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      img.alt = f.name;
      if (/^image\//.test(f.type)) { img.src = URL.createObjectURL(f); }
      li.appendChild(img);
      list.appendChild(li);
    });
  }

  function reportForm() {
    var form = document.getElementById("report-form");
    if (!form) { return; }
    var el = document.getElementById("pick-map");
    var lon = form.querySelector("[name=lon]"), lat = form.querySelector("[name=lat]");
    var text = document.getElementById("loc-text");
    // The words come translated from the page (#report-words); "{n}" and the like are filled in.
    var words = document.getElementById("report-words");
    function say(name, fallback, values) {
      var pattern = (words && words.getAttribute("data-" + name)) || fallback;
      return pattern.replace(/\{(\w+)\}/g, function (_all, key) { return String(values[key]); });
    }
    var marker = null, map = null;
    function place(latlng, how) {
      lat.value = latlng.lat.toFixed(7);
      lon.value = latlng.lng.toFixed(7);
      text.textContent = say("place", "✓ {how}（{lon}, {lat}）", { how: how, lon: latlng.lng.toFixed(5), lat: latlng.lat.toFixed(5) });
      text.classList.add("chosen");
      if (map) {
        if (marker) { marker.setLatLng(latlng); } else { marker = L.circleMarker(latlng, { radius: 10, color: "#c8102e", weight: 3, fillOpacity: 0.6 }).addTo(map); }
      }
    }
    if (el && window.L) {
      var center = (el.getAttribute("data-center") || "116.4074,39.9042").split(",");
      map = L.map(el, { attributionControl: false }).setView([parseFloat(center[1]), parseFloat(center[0])], 16);
      tiles(map, el);
      var grids = JSON.parse(el.getAttribute("data-grids") || "[]");
      grids.forEach(function (code) {
        fetch("/territory/units/" + code + "/grids.geojson", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (fc) {
            if (!fc) { return; }
            var polygons = { type: "FeatureCollection", features: fc.features.filter(function (f) { return f.geometry && f.geometry.type !== "Point"; }) };
            var layer = L.geoJSON(polygons, { style: { color: "#0b6bcb", weight: 2, fillOpacity: 0.05 }, interactive: false }).addTo(map);
            if (!marker && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
            el.setAttribute("data-ready", "1");
          });
      });
      if (!grids.length) { el.setAttribute("data-ready", "1"); }
      map.on("click", function (e) { place(e.latlng, say("picked", "已在地图上选择", {})); });
      if (lon.value && lat.value) { place(L.latLng(parseFloat(lat.value), parseFloat(lon.value)), say("kept", "已选择", {})); }
    }
    var gps = document.getElementById("use-gps");
    if (gps) {
      gps.addEventListener("click", function () {
        if (!navigator.geolocation) { text.textContent = say("no-gps", "此设备不支持定位，请点击地图选择", {}); return; }
        text.textContent = say("locating", "正在定位…", {});
        navigator.geolocation.getCurrentPosition(function (pos) {
          var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
          place(ll, say("here", "当前位置", {}));
          if (map) { map.setView(ll, 17); }
        }, function () { text.textContent = say("gps-failed", "定位失败，请点击地图选择位置", {}); }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
    var input = form.querySelector("input[type=file][name=photos]");
    var count = document.getElementById("photo-count");
    var pending = null;
    if (input) {
      input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files, 0, 9);
        previews(files);
        if (input.files.length > 9) { count.textContent = say("too-many", "最多 9 张，只保留前 9 张", {}); }
        if (!window.DataTransfer) { count.textContent = say("photos", "已选择 {n} 张照片", { n: files.length }); return; }
        count.textContent = say("resizing", "正在处理 {n} 张照片…", { n: files.length });
        pending = Promise.all(files.map(function (f) { return resize(f, 1600); })).then(function (out) {
          var dt = new DataTransfer();
          out.forEach(function (f) { dt.items.add(f); });
          input.files = dt.files;
          count.textContent = say("photos", "已选择 {n} 张照片", { n: out.length });
          pending = null;
        });
      });
    }
    var spot = form.querySelector("[name=resolve_on_spot]"), resultRow = document.getElementById("result-row");
    function toggle() { if (resultRow) { resultRow.hidden = !(spot && spot.checked); } }
    if (spot) { spot.addEventListener("change", toggle); toggle(); }
    var sent = false;
    form.addEventListener("submit", function (e) {
      if (sent) { e.preventDefault(); return; }  // a double tap sends once; the key makes retries safe
      if (pending) {  // wait for the resized photos, then send
        e.preventDefault();
        pending.then(function () { form.requestSubmit(); });
        return;
      }
      // What is missing is said here, before sending: a refused form comes back without the
      // chosen photos (a browser never refills a file input).
      var missing = [];
      var category = form.querySelector("[name=category]"), title = form.querySelector("[name=title]");
      if (!lon.value || !lat.value) { missing.push(say("f-location", "位置", {})); }
      if (category && !category.value) { missing.push(say("f-category", "问题类别", {})); }
      if (title && !title.value.trim()) { missing.push(say("f-title", "一句话描述", {})); }
      var box = document.getElementById("client-error");
      if (missing.length) {
        e.preventDefault();
        if (box) {
          box.textContent = say("missing", "请补全：{fields}", { fields: missing.join(say("and", "、", {})) });
          box.hidden = false;
          box.scrollIntoView({ block: "center" });
        }
        return;
      }
      if (box) { box.hidden = true; }
      sent = true;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      button.textContent = say("sending", "正在提交…", {});
    });
  }

  // Action buttons send once, even when tapped twice.
  function actionForms() {
    document.querySelectorAll(".case-actions form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (form.getAttribute("data-sent")) { e.preventDefault(); return; }
        form.setAttribute("data-sent", "1");
        var button = form.querySelector("button[type=submit]");
        if (button) { button.disabled = true; }
      });
    });
  }

  // Dispatch has one lead: a department or a grid worker. Choosing one clears the other (the
  // suggested department comes pre-selected, and a worker chosen beside it was refused).
  function oneLead() {
    document.querySelectorAll("form").forEach(function (form) {
      var department = form.querySelector("select[name=department]");
      var worker = form.querySelector("select[name=worker]");
      if (!department || !worker) { return; }
      worker.addEventListener("change", function () { if (worker.value) { department.value = ""; } });
      department.addEventListener("change", function () { if (department.value) { worker.value = ""; } });
    });
  }

  // A page restored from the back/forward cache would keep its disabled buttons: reload it.
  window.addEventListener("pageshow", function (e) { if (e.persisted) { window.location.reload(); } });

  document.addEventListener("DOMContentLoaded", function () {
    countdown(); caseMap(); filters(); reportForm(); actionForms(); oneLead();
  });
})();
