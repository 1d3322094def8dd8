"use strict";
(function () {
  function value(cell) {
    var v = cell.getAttribute("data-v");
    if (v === null) return cell.textContent.trim().toLowerCase();
    if (v === "") return null;
    var n = Number(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }
  function sortTable(table, col, th) {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[col]), y = value(b.cells[col]);
      if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
      var r = x < y ? -1 : (x > y ? 1 : 0);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort";
      th.addEventListener("click", function () { sortTable(table, col, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, col, th); }
      });
    });
  });
  var filter = document.getElementById("filter");
  var only = document.getElementById("only-bad");
  var shown = document.getElementById("shown");
  function applyFilter() {
    var q = filter ? filter.value.trim().toLowerCase() : "";
    var bad = only ? only.checked : false;
    var n = 0;
    document.querySelectorAll("[data-ep]").forEach(function (el) {
      var ok = (!q || el.getAttribute("data-ep").toLowerCase().indexOf(q) >= 0) &&
               (!bad || el.getAttribute("data-bad") === "1");
      el.hidden = !ok;
      if (ok && el.tagName === "TR") n++;
    });
    if (shown) shown.textContent = String(n);
  }
  if (filter) filter.addEventListener("input", applyFilter);
  if (only) only.addEventListener("change", applyFilter);
  document.querySelectorAll("button[data-expand]").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-expand") === "1";
      document.querySelectorAll(b.getAttribute("data-target")).forEach(function (d) { d.open = open; });
    });
  });
  // Example exchanges are stored once each in <template>s and copied into a group when it opens.
  function fill(root) {
    root.querySelectorAll(".slot[data-x]").forEach(function (slot) {
      if (slot.childElementCount) return;
      var t = document.getElementById("x-" + slot.getAttribute("data-x"));
      if (t) slot.appendChild(t.content.cloneNode(true));
    });
  }
  document.querySelectorAll("details.grp").forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open) fill(d); });
  });
  // Opening a link to a group (from the endpoints table) opens the details on the way.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    while (el) {
      if (el.tagName === "DETAILS") { el.open = true; fill(el); }
      el = el.parentElement;
    }
  }
  window.addEventListener("hashchange", reveal);
  reveal();
  document.documentElement.setAttribute("data-ready", "1");
})();
