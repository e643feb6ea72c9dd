// 随手拍: category tiles, photos resized in the browser (canvas → JPEG, longest side 1600 px),
// location by GPS or a tap on the map, the "是不是这件事？" check, and a submission that keeps
// everything typed on an error and retries a flaky network with the same idempotency key.
// No inline scripts or handlers: the CSP allows only files like this one.
(function () {
  "use strict";

  var MAX_SIDE = 1600, QUALITY = 0.85, MAX_TOTAL = 60 * 1024 * 1024, RETRIES = 3;
  var form = document.getElementById("r-form");
  if (!form) { return; }
  function msg(name) { return form.getAttribute("data-msg-" + name) || ""; }
  var maxPhotos = parseInt(form.getAttribute("data-max-photos") || "9", 10);
  var lon = form.querySelector("[name=lon]"), lat = form.querySelector("[name=lat]");
  var locText = document.getElementById("loc-text");
  var status = document.getElementById("submit-status");
  var button = document.getElementById("submit");
  var progress = document.getElementById("upload-progress");

  // --- map and location -------------------------------------------------------------------
  var map = null, marker = null;
  function place(latlng, how) {
    lat.value = latlng.lat.toFixed(7);
    lon.value = latlng.lng.toFixed(7);
    locText.textContent = msg("place").replace("{how}", how)
      .replace("{lon}", latlng.lng.toFixed(5)).replace("{lat}", latlng.lat.toFixed(5));
    locText.classList.add("chosen");
    if (map) {
      if (marker) { marker.setLatLng(latlng); } else {
        marker = L.circleMarker(latlng, { radius: 10, color: "#c8102e", weight: 3, fillOpacity: 0.6 }).addTo(map);
      }
    }
    checkNearby();
  }
  var el = document.getElementById("pick-map");
  var gps = document.getElementById("use-gps");
  // Shown only where they work (without JavaScript the address places the report).
  gps.hidden = false;
  if (el && window.L) {
    el.hidden = false;
    if (!lon.value || !lat.value) { locText.textContent = locText.getAttribute("data-msg-pick"); }
    var c = (el.getAttribute("data-center") || "116.4074,39.9042").split(",");
    map = L.map(el, { attributionControl: false, zoomSnap: 0.5 }).setView([parseFloat(c[1]), parseFloat(c[0])], 14);
    var tileUrl = el.getAttribute("data-tile-url");
    if (tileUrl) { L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map); }
    fetch(form.getAttribute("data-streets-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) {
        if (fc && fc.features && fc.features.length) {
          var outline = L.geoJSON(fc, {
            style: { color: "#0b6bcb", weight: 1.5, fillOpacity: 0.04 }, interactive: false
          }).addTo(map);
          map.invalidateSize();
          if (!marker && outline.getBounds().isValid()) { map.fitBounds(outline.getBounds(), { padding: [4, 4] }); }
        }
        el.setAttribute("data-ready", "1");
      })
      .catch(function () { el.setAttribute("data-ready", "1"); });
    map.on("click", function (e) { place(e.latlng, msg("tapped")); });
    if (lon.value && lat.value) { place(L.latLng(parseFloat(lat.value), parseFloat(lon.value)), "✓"); map.setView([parseFloat(lat.value), parseFloat(lon.value)], 16); }
  }
  gps.addEventListener("click", function () {
    if (!navigator.geolocation) { locText.textContent = msg("gps-failed"); return; }
    locText.textContent = msg("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var ll = window.L ? L.latLng(pos.coords.latitude, pos.coords.longitude) : { lat: pos.coords.latitude, lng: pos.coords.longitude };
      place(ll, msg("gps"));
      if (map) { map.setView(ll, 17); }
    }, function () { locText.textContent = msg("gps-failed"); }, { enableHighAccuracy: true, timeout: 10000 });
  });

  // --- "是不是这件事？" ---------------------------------------------------------------------
  var nearbyBox = document.getElementById("nearby"), nearbyList = document.getElementById("nearby-list");
  var dismissed = "";
  function category() { var r = form.querySelector("input[name=category]:checked"); return r ? r.value : ""; }
  function checkNearby() {
    var cat = category();
    if (!cat || !lon.value || !lat.value) { nearbyBox.hidden = true; return; }
    var query = "category=" + encodeURIComponent(cat) + "&lon=" + lon.value + "&lat=" + lat.value;
    if (query === dismissed) { return; }
    fetch(form.getAttribute("data-nearby-url") + "?" + query, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { cases: [] }; })
      .then(function (data) {
        nearbyList.textContent = "";
        (data.cases || []).forEach(function (item) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = item.url;
          a.className = "nearby-item";
          var t = document.createElement("strong"); t.textContent = item.title; a.appendChild(t);
          var m = document.createElement("span"); m.className = "muted";
          m.textContent = item.category + " · " + item.status + " · " + item.distance_m + " m · " + item.reported;
          a.appendChild(m);
          li.appendChild(a);
          nearbyList.appendChild(li);
        });
        nearbyBox.hidden = !(data.cases && data.cases.length);
        nearbyBox.setAttribute("data-query", query);
      })
      .catch(function () { nearbyBox.hidden = true; });
  }
  document.getElementById("nearby-dismiss").addEventListener("click", function () {
    dismissed = nearbyBox.getAttribute("data-query") || "";
    nearbyBox.hidden = true;
  });
  form.querySelectorAll("input[name=category]").forEach(function (r) { r.addEventListener("change", checkNearby); });

  // --- photos -------------------------------------------------------------------------------
  var input = document.getElementById("photos"), thumbs = document.getElementById("thumbs");
  var count = document.getElementById("photo-count");
  var photos = [], pending = null;
  function resize(file) {
    return new Promise(function (resolve) {
      if (!/^image\/(jpeg|png|webp)$/.test(file.type)) { resolve(file); return; }
      var img = new Image(), url = URL.createObjectURL(file);
      img.onload = function () {
        URL.revokeObjectURL(url);
        var scale = Math.min(1, MAX_SIDE / Math.max(img.width, img.height));
        if (scale === 1 && file.type === "image/jpeg" && file.size < 1500000) { resolve(file); return; }
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        var ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", QUALITY);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }
  function syncInput() {
    // The input carries the resized photos too, so a plain (non-script) submit sends them.
    if (window.DataTransfer) {
      try { var dt = new DataTransfer(); photos.forEach(function (f) { dt.items.add(f); }); input.files = dt.files; } catch (e) { /* old browsers: XHR sends them */ }
    }
  }
  function drawThumbs() {
    thumbs.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    thumbs.textContent = "";
    photos.forEach(function (f, i) {
      var li = document.createElement("li");
      var img = document.createElement("img"); img.alt = f.name; img.src = URL.createObjectURL(f);
      var rm = document.createElement("button"); rm.type = "button"; rm.className = "thumb-remove"; rm.textContent = "×";
      rm.setAttribute("aria-label", msg("remove"));
      rm.addEventListener("click", function () { photos.splice(i, 1); syncInput(); drawThumbs(); });
      li.appendChild(img); li.appendChild(rm); thumbs.appendChild(li);
    });
    count.textContent = photos.length ? msg("photos").replace("{n}", String(photos.length)) : "";
  }
  input.addEventListener("change", function () {
    var chosen = Array.prototype.slice.call(input.files);
    var room = maxPhotos - photos.length;
    if (chosen.length > room) { chosen = chosen.slice(0, Math.max(0, room)); }
    count.textContent = msg("processing");
    pending = Promise.all(chosen.map(resize)).then(function (out) {
      photos = photos.concat(out);
      syncInput(); drawThumbs();
      if (chosen.length < input.files.length) { count.textContent = msg("max"); }
      pending = null;
    });
  });

  // --- contact --------------------------------------------------------------------------------
  var anon = document.getElementById("anonymous"), contact = document.getElementById("contact-fields");
  function toggleContact() { contact.classList.toggle("disabled", anon.checked); contact.querySelectorAll("input").forEach(function (i) { i.disabled = anon.checked; }); }
  anon.addEventListener("change", toggleContact); toggleContact();

  // --- submission -----------------------------------------------------------------------------
  var busy = false;
  function done(text) { busy = false; button.disabled = false; progress.hidden = true; status.textContent = text || ""; }
  function showErrors(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    form.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    form.querySelectorAll(".has-error").forEach(function (e) { e.classList.remove("has-error"); });
    var summary = doc.getElementById("form-errors"), mine = document.getElementById("form-errors");
    if (summary && mine) { mine.replaceWith(document.importNode(summary, true)); }
    doc.querySelectorAll(".field-error").forEach(function (e) {
      var box = form.querySelector("[data-field=\"" + e.getAttribute("data-for") + "\"]");
      if (!box) { return; }
      var node = document.importNode(e, true), heading = box.querySelector("h2");
      box.classList.add("has-error");
      if (heading) { heading.after(node); } else { box.insertBefore(node, box.firstChild.nextSibling); }
    });
    var top = document.getElementById("form-errors");
    if (top) { top.scrollIntoView({ behavior: "smooth", block: "start" }); }
  }
  function send(attempt) {
    var data = new FormData(form);
    data.delete("photos");
    photos.forEach(function (f) { data.append("photos", f, f.name); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action") || window.location.pathname);
    xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) { progress.hidden = false; progress.value = Math.round(e.loaded * 100 / e.total); } });
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL.indexOf("/t/") > 0) {
        window.location.assign(xhr.responseURL);
        return;
      }
      if (xhr.status === 422) { done(""); showErrors(xhr.responseText); return; }
      if (xhr.status === 413) { done(msg("too-large")); return; }
      if (xhr.status === 429) {
        // The form's own refusal says in how many minutes to send again; any other 429 does not.
        if (xhr.responseText.indexOf("id=\"form-errors\"") >= 0) { done(""); showErrors(xhr.responseText); } else { done(msg("too-many")); }
        return;
      }
      if (xhr.status === 403 && xhr.getResponseHeader("X-Wangge-Error") === "csrf") { renewToken(attempt); return; }
      if (xhr.status >= 500 && attempt < RETRIES) { retry(attempt); return; }
      done(msg("server"));
    };
    xhr.onerror = function () { if (attempt < RETRIES) { retry(attempt); } else { done(msg("offline")); } };
    xhr.send(data);
  }
  // The security token was refused (the page stayed open too long, the browser dropped its
  // cookie): fetch the form again for a fresh token and cookie, then send the same input once more.
  function renewToken(attempt) {
    if (attempt >= RETRIES) { done(msg("expired")); return; }
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[name=csrfmiddlewaretoken]");
        if (!fresh) { done(msg("expired")); return; }
        form.querySelector("[name=csrfmiddlewaretoken]").value = fresh.value;
        send(attempt + 1);
      })
      .catch(function () { done(msg("offline")); });
  }
  function retry(attempt) {
    status.textContent = msg("retry");
    setTimeout(function () { send(attempt + 1); }, 1000 * Math.pow(2, attempt));
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (busy) { return; }  // a double tap sends once; the key makes any retry safe
    var total = photos.reduce(function (n, f) { return n + f.size; }, 0);
    if (total > MAX_TOTAL) { status.textContent = msg("too-large"); return; }
    busy = true;
    button.disabled = true;
    status.textContent = msg("sending");
    (pending || Promise.resolve()).then(function () { send(0); });
  });
  window.addEventListener("pageshow", function (e) { if (e.persisted) { done(""); } });
})();
