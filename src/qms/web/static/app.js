// qms — the only script: table rows added and removed in record forms, and confirmations.
// Loaded as a file (the Content-Security-Policy forbids inline scripts).
"use strict";
document.addEventListener("click", function (ev) {
  var t = ev.target;
  if (!(t instanceof HTMLElement)) return;
  if (t.matches("[data-add-row]")) {
    ev.preventDefault();
    var table = document.getElementById(t.getAttribute("data-add-row"));
    var tpl = table.querySelector("template");
    var body = table.querySelector("tbody");
    var row = tpl.content.firstElementChild.cloneNode(true);
    body.appendChild(row);
    var first = row.querySelector("input, select");
    if (first) first.focus();
  } else if (t.matches("[data-remove-row]")) {
    ev.preventDefault();
    var tr = t.closest("tr");
    if (tr) tr.remove();
  }
});
document.addEventListener("submit", function (ev) {
  var f = ev.target;
  if (f instanceof HTMLFormElement && f.hasAttribute("data-confirm")) {
    if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
  }
});
