// agentwatch console: pages work without this script. It only adds
// keyboard shortcuts: "/" jumps to search, "g f" to the fleet.
(function () {
  "use strict";
  var last = "";
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT"))) {
      return;
    }
    if (e.key === "/") {
      e.preventDefault();
      var field = document.querySelector(".searchform input");
      if (field) { field.focus(); } else { window.location.href = "/search"; }
    } else if (last === "g" && e.key === "f") {
      window.location.href = "/";
    }
    last = e.key;
  });
})();
