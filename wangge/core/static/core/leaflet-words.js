// Leaflet's own words (the zoom buttons' titles) in the page's language: they come translated
// from this script's tag (core/_leaflet.html). Loaded right after leaflet.js.
(function () {
  "use strict";
  var tag = document.currentScript;
  if (!tag || !window.L) { return; }
  var zoom = L.Control.Zoom.prototype.options;
  zoom.zoomInTitle = tag.getAttribute("data-zoom-in") || zoom.zoomInTitle;
  zoom.zoomOutTitle = tag.getAttribute("data-zoom-out") || zoom.zoomOutTitle;
})();
