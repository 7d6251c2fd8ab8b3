// openbill desk: keyboard helpers. Everything works without this file; it only adds:
//  "/"  puts the cursor in the search box (unless you are typing in a field already);
//  Esc  closes an open navigation menu and gives focus back to its button;
//  an action sent in place (htmx) that the desk refuses outright (403: not allowed, or the
//  page is too old; 500) says so at the top of the page instead of doing nothing.
(function () {
  "use strict";
  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target)) {
      var box = document.getElementById("q");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    } else if (event.key === "Escape") {
      var open = document.querySelector("nav details[open]");
      if (open) {
        open.removeAttribute("open");
        var summary = open.querySelector("summary");
        if (summary) summary.focus();
      }
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var live = document.getElementById("live");
    if (!live) return;
    var xhr = event.detail && event.detail.xhr;
    var why = "";
    if (xhr && xhr.responseText) {
      var found = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector(".error");
      why = found ? found.textContent.trim() : "";
    }
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = why || "The desk could not do this (HTTP " + (xhr ? xhr.status : "?") + "). Reload the page and try again.";
    live.replaceChildren(p);
  });
})();
