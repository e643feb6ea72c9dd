// A category's extra questions on the reporting pages (patrol report, 随手拍, a visit turned into a
// case): show the chosen category's fieldset, hide the others. Inputs are named per category and
// the server reads only the chosen one's, so answers left in a hidden fieldset are ignored.
(function () {
  "use strict";
  function chosen() {
    var radio = document.querySelector("input[name=category]:checked");
    if (radio) { return radio.value; }
    var select = document.querySelector("select[name=category]");
    return select ? select.value : "";
  }
  function sync() {
    var value = chosen();
    document.querySelectorAll("[data-questions-for]").forEach(function (box) {
      box.hidden = box.getAttribute("data-questions-for") !== value;
      // Not sent and not checked by the browser either (a min/max left in another category's
      // box must not block the form without a word).
      box.disabled = box.hidden;
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "category") { sync(); }
  });
  sync();
})();
