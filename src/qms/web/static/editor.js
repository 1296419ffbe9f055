// The source editor: the text is checked as it is typed (a fetch to the check endpoint, after a
// short pause), and the first error is shown with its line. Loaded as a file (CSP: no inline scripts).
"use strict";
(function () {
  var form = document.getElementById("editor-form");
  if (!form) return;
  var text = document.getElementById("source-text");
  var out = document.getElementById("check-result");
  var token = form.querySelector("input[name=csrf_token]").value;
  var timer = null, asked = 0;
  function show(res) {
    out.className = "check-result " + (res.ok ? "ok" : "error");
    if (res.ok) {
      out.textContent = "校验通过：" + res.summary + (res.warnings.length ? "（提示 " + res.warnings.length + " 条：" + res.warnings[0] + "）" : "");
    } else {
      var e = res.errors[0];
      out.textContent = (e.line ? "第 " + e.line + " 行：" : "") + e.message;
    }
  }
  function check() {
    var n = ++asked;
    fetch(form.getAttribute("data-check-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"content-type": "application/json", "x-csrf-token": token},
      body: JSON.stringify({text: text.value})
    }).then(function (r) { return r.json(); }).then(function (res) {
      if (n === asked) show(res);
    }).catch(function () { out.textContent = "无法校验（连接中断）"; });
  }
  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
  check();
})();
