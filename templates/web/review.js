// Review page helpers: outline provenance boxes, jump to a field's box, re-validate on change,
// keyboard shortcuts. Plain script, no build step; everything works without it too.
"use strict";
(function () {
  function placeBoxes() {
    document.querySelectorAll(".box").forEach(function (b) {
      var x0 = parseFloat(b.dataset.x0), y0 = parseFloat(b.dataset.y0);
      var x1 = parseFloat(b.dataset.x1), y1 = parseFloat(b.dataset.y1);
      b.style.left = (x0 * 100) + "%";
      b.style.top = (y0 * 100) + "%";
      b.style.width = Math.max((x1 - x0) * 100, 0.5) + "%";
      b.style.height = Math.max((y1 - y0) * 100, 0.5) + "%";
    });
  }

  function showBox(path) {
    document.querySelectorAll(".box.active").forEach(function (b) { b.classList.remove("active"); });
    var box = document.getElementById("box-" + path);
    if (box) {
      box.classList.add("active");
      // "nearest": scroll the source pane, not the page, so the field just clicked stays in view.
      box.scrollIntoView({block: "nearest", inline: "nearest", behavior: "auto"});
    }
    return box;
  }

  function fieldInputs() {
    return Array.prototype.slice.call(document.querySelectorAll("#fields-form input[data-path]"));
  }

  function focusNext(onlyProblems) {
    var inputs = fieldInputs();
    if (!inputs.length) { return; }
    var start = inputs.indexOf(document.activeElement);
    for (var i = 1; i <= inputs.length; i++) {
      var el = inputs[(start + i) % inputs.length];
      if (!onlyProblems || el.getAttribute("aria-invalid") === "true") {
        el.focus();
        showBox(el.dataset.path);
        return;
      }
    }
  }

  function renderProblems(data) {
    var byField = {};
    var general = [];
    data.problems.forEach(function (p) {
      if (p.field) { (byField[p.field] = byField[p.field] || []).push(p); } else { general.push(p); }
    });
    document.querySelectorAll("ul.problems[data-path]").forEach(function (ul) {
      var list = byField[ul.dataset.path] || [];
      ul.textContent = "";
      list.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.code.replace(/_/g, " ") + ": " + p.message;
        ul.appendChild(li);
      });
      var input = document.querySelector('#fields-form input[data-path="' + ul.dataset.path + '"]');
      var wrap = ul.closest(".field");
      if (input) {
        if (list.length) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      }
      if (wrap) { wrap.classList.toggle("has-problem", list.length > 0); }
    });
    var g = document.getElementById("general-problems");
    if (g) {
      g.textContent = "";
      general.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.code.replace(/_/g, " ") + ": " + p.message;
        g.appendChild(li);
      });
    }
    var summary = document.getElementById("summary");
    if (summary) {
      summary.textContent = data.blocking ? data.blocking + " problem(s) to correct before the request can be accepted."
        : "No problem blocks accepting.";
    }
  }

  function recheck() {
    var form = document.getElementById("fields-form");
    if (!form) { return; }
    var body = new FormData(form);
    fetch(form.dataset.check, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRF-Token": body.get("csrf_token")}
    }).then(function (r) { return r.ok || r.status === 422 ? r.json() : null; }).then(function (data) {
      if (data) { renderProblems(data); document.body.dataset.checked = String(Date.now()); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    placeBoxes();
    document.querySelectorAll("button.show-box").forEach(function (b) {
      b.addEventListener("click", function () { showBox(b.dataset.path); });
    });
    fieldInputs().forEach(function (el) {
      el.addEventListener("focus", function () {
        if (document.getElementById("box-" + el.dataset.path)) { showBox(el.dataset.path); }
      });
      el.addEventListener("change", recheck);
    });
    document.addEventListener("keydown", function (ev) {
      var key = ev.key.toLowerCase();
      if (ev.altKey && key === "n") { ev.preventDefault(); focusNext(false); }
      else if (ev.altKey && key === "p") { ev.preventDefault(); focusNext(true); }
      else if ((ev.altKey || ev.ctrlKey) && key === "s") {
        var form = document.getElementById("fields-form");
        if (form && document.getElementById("save")) { ev.preventDefault(); form.requestSubmit(); }
      } else if (ev.altKey && key === "r") {
        var next = document.getElementById("next-request");
        if (next) { ev.preventDefault(); window.location.href = next.href; }
      }
    });
  });
})();
