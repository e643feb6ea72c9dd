/* The territory tree: expand and collapse nodes (htmx loads a node's children the first time),
 * keep the highlighted node in step with the panel, and fold the tree away on a phone. */
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 799px)");

  function treeBox() {
    return document.querySelector(".tree-box");
  }

  function toggle(button) {
    var kids = document.getElementById(button.getAttribute("aria-controls"));
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", open ? "false" : "true");
    if (kids) kids.hidden = open;
  }

  function markCurrent(code) {
    document.querySelectorAll(".tree .node-link[aria-current]").forEach(function (a) {
      a.removeAttribute("aria-current");
    });
    var link = document.querySelector('.tree .node-link[data-code="' + code + '"]');
    if (link) link.setAttribute("aria-current", "page");
  }

  function start() {
    var box = treeBox();
    if (!box) return;
    // On a phone the panel comes first: show the tree folded once a unit is open.
    if (PHONE.matches && document.querySelector("#unit-panel [data-unit-code]")) box.open = false;
    // On a desk the tree is always shown.
    PHONE.addEventListener("change", function (event) {
      if (!event.matches) box.open = true;
    });
    box.addEventListener("toggle", function () {
      if (!PHONE.matches && !box.open) box.open = true;
    });

    document.addEventListener("click", function (event) {
      var button = event.target.closest(".tree .twisty");
      if (button) toggle(button);
    });

    document.body.addEventListener("htmx:afterSettle", function (event) {
      var target = event.detail && event.detail.target;
      if (!target || target.id !== "unit-panel") return;
      var head = target.querySelector("[data-unit-code]");
      if (head) markCurrent(head.getAttribute("data-unit-code"));
      if (PHONE.matches) box.open = false;
      target.scrollIntoView({ block: "start" });
      var title = target.querySelector("h1");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus({ preventScroll: true });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
