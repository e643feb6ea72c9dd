/* Territory maps: draws GeoJSON boundaries with Leaflet on any element carrying
 *   data-geojson-url     a URL returning a FeatureCollection, or
 *   data-geojson-inline  the id of a json_script element holding GeoJSON (geometry, Feature or
 *                        FeatureCollection).
 * Optional: data-unit-url (contains __CODE__; clicking a polygon opens that unit),
 * data-current-code (that unit is not a link), data-tile-url / data-tile-attribution (a tile
 * layer is added only when the URL is set: with none the polygons sit on a plain background),
 * data-labels="none" (no permanent labels), data-msg-empty / data-msg-error (texts to show).
 * After drawing, the element gets data-map-state="ready|empty|error" and data-feature-count.
 * Maps inside content swapped in by htmx are drawn on htmx:afterSettle.
 */
(function () {
  "use strict";

  var SELECTOR = "[data-geojson-url], [data-geojson-inline]";
  var MAX_PERMANENT_LABELS = 40;
  var STYLE = { color: "#0b6bcb", weight: 2, opacity: 0.9, fillColor: "#0b6bcb", fillOpacity: 0.12 };
  var HOVER = { weight: 3, fillOpacity: 0.3 };
  var CURRENT = { color: "#c8102e", weight: 2, opacity: 0.9, fillColor: "#c8102e", fillOpacity: 0.08 };
  var BUILDING = { radius: 6, color: "#fff", weight: 2, fillColor: "#c8102e", fillOpacity: 1 };

  function countFeatures(data) {
    if (!data) return 0;
    if (data.type === "FeatureCollection") return (data.features || []).length;
    return 1;
  }

  function isPoint(feature) {
    var type = feature && feature.geometry && feature.geometry.type;
    return type === "Point" || type === "MultiPoint";
  }

  function showMessage(el, text, state) {
    el.setAttribute("data-map-state", state);
    if (!text) return;
    var box = document.createElement("div");
    box.className = "map-message";
    box.textContent = text;
    el.appendChild(box);
  }

  function unitLink(el, feature) {
    var template = el.getAttribute("data-unit-url");
    var code = feature.properties && feature.properties.code;
    if (!template || !code || code === el.getAttribute("data-current-code")) return null;
    return template.replace("__CODE__", encodeURIComponent(code));
  }

  function draw(el, data) {
    var tileUrl = el.getAttribute("data-tile-url") || "";
    var total = countFeatures(data);
    var permanent = el.getAttribute("data-labels") !== "none" && total <= MAX_PERMANENT_LABELS;
    var small = el.classList.contains("small");
    var map = L.map(el, {
      attributionControl: Boolean(tileUrl),
      // Without tiles, fractional zoom fits the polygons snugly; tiles want whole levels.
      zoomSnap: tileUrl ? 1 : 0.25,
      scrollWheelZoom: !small,
      // On a phone one finger scrolls the page; two fingers zoom the map.
      dragging: !L.Browser.mobile,
    });
    el._wanggeMap = map;
    if (tileUrl) {
      L.tileLayer(tileUrl, {
        attribution: el.getAttribute("data-tile-attribution") || "",
        maxZoom: 19,
      }).addTo(map);
    }

    var drawn = 0;
    var layer = L.geoJSON(data, {
      style: function (feature) {
        if (isPoint(feature)) return BUILDING;
        var current = feature.properties && feature.properties.code === el.getAttribute("data-current-code");
        return current ? CURRENT : STYLE;
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, BUILDING);
      },
      onEachFeature: function (feature, lyr) {
        drawn += 1;
        var props = feature.properties || {};
        var label = props.label || props.name || "";
        if (isPoint(feature)) {
          if (label) lyr.bindTooltip(label, { direction: "top", offset: [0, -6] });
          return;
        }
        // The unit being shown is named by the page: label only the others on the map.
        var isCurrent = props.code && props.code === el.getAttribute("data-current-code");
        if (label && !isCurrent) {
          lyr.bindTooltip(label, {
            permanent: permanent,
            direction: "center",
            className: permanent ? "map-label" : "",
          });
        }
        var href = unitLink(el, feature);
        if (href) {
          lyr.on("click", function () {
            window.location.assign(href);
          });
          lyr.on("mouseover", function () {
            lyr.setStyle(HOVER);
          });
          lyr.on("mouseout", function () {
            layer.resetStyle(lyr);
          });
        } else if (lyr.options && (permanent || isCurrent)) {
          // Not a link and nothing to show on hover: let clicks reach the map.
          lyr.options.interactive = false;
        }
      },
    }).addTo(map);

    el.setAttribute("data-feature-count", String(drawn));
    var bounds = layer.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 18 });
      el.setAttribute("data-map-state", "ready");
    } else {
      map.setView([39.9, 116.4], 10);
      showMessage(el, el.getAttribute("data-msg-empty") || "No boundary data", "empty");
    }

    if (window.ResizeObserver) {
      var observer = new ResizeObserver(function () {
        map.invalidateSize();
      });
      observer.observe(el);
      el._wanggeObserver = observer;
    }
  }

  function fail(el, error) {
    showMessage(el, el.getAttribute("data-msg-error") || "Map failed to load", "error");
    if (window.console) console.error("map:", error);
  }

  function initMap(el) {
    if (el._wanggeMapStarted) return;
    el._wanggeMapStarted = true;
    if (typeof L === "undefined") {
      fail(el, "Leaflet is not loaded");
      return;
    }
    var inline = el.getAttribute("data-geojson-inline");
    if (inline) {
      var source = document.getElementById(inline);
      var data = null;
      try {
        data = source ? JSON.parse(source.textContent) : null;
      } catch (error) {
        fail(el, error);
        return;
      }
      if (!data) {
        showMessage(el, el.getAttribute("data-msg-empty"), "empty");
        return;
      }
      draw(el, data);
      return;
    }
    el.setAttribute("data-map-state", "loading");
    fetch(el.getAttribute("data-geojson-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/geo+json, application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (el.isConnected) draw(el, data);
      })
      .catch(function (error) {
        fail(el, error);
      });
  }

  function destroyMaps(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll(SELECTOR).forEach(function (el) {
      if (el._wanggeObserver) el._wanggeObserver.disconnect();
      if (el._wanggeMap) el._wanggeMap.remove();
    });
  }

  function initAll(root) {
    if (!root) return;
    if (root.matches && root.matches(SELECTOR)) initMap(root);
    if (root.querySelectorAll) root.querySelectorAll(SELECTOR).forEach(initMap);
  }

  function start() {
    initAll(document);
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail && event.detail.shouldSwap) destroyMaps(event.detail.target);
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      initAll(event.detail && event.detail.elt);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
