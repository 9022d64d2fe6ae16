// bootforge serve: keyboard shortcuts. j/k: next/previous item (on the
// queue: move the selected row; Enter opens it). a/r/v: go to the approve,
// reject or revise form of an item. Served as a file ('self' in the CSP);
// it reads nothing from the page's data but element ids and hrefs.
(function () {
  "use strict";
  var selected = -1;
  function rows() { return document.querySelectorAll("tr.row"); }
  function select(i) {
    var r = rows();
    if (r.length === 0) { return; }
    if (selected >= 0 && selected < r.length) { r[selected].classList.remove("selected"); }
    selected = Math.max(0, Math.min(r.length - 1, i));
    r[selected].classList.add("selected");
    r[selected].scrollIntoView({ block: "nearest" });
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.getAttribute("href"); return true; }
    return false;
  }
  function focusForm(id) {
    var field = document.getElementById(id);
    if (field) { field.scrollIntoView({ block: "center" }); field.focus(); }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
      if (e.key === "Escape") { t.blur(); }
      return;
    }
    var onQueue = rows().length > 0 && !document.getElementById("decide");
    switch (e.key) {
      case "j":
        if (onQueue) { select(selected + 1); } else { follow("next"); }
        break;
      case "k":
        if (onQueue) { select(selected - 1); } else { follow("prev"); }
        break;
      case "Enter":
        if (onQueue && selected >= 0) { window.location.href = rows()[selected].getAttribute("data-href"); }
        return;
      case "a": focusForm("approve-note"); break;
      case "r": focusForm("reject-reason"); break;
      case "v": focusForm("revise-note"); break;
      default: return;
    }
    e.preventDefault();
  });
})();
