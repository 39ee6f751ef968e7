// The online request form: ask the server's check (the rules of intake/validate.py, the same code
// as the review page) on every change, and show each problem beside its field. No rule lives here.
// Without this script the form works the same: the server checks it when it is sent.
"use strict";
(function () {
  var touched = {};
  var timer = null;
  var serial = 0;

  function controls(form) {
    return Array.prototype.slice.call(form.querySelectorAll("[data-path]")).filter(function (el) {
      return el.tagName !== "UL";
    });
  }

  function render(form, data) {
    var byField = {};
    data.problems.forEach(function (p) {
      if (p.field) { (byField[p.field] = byField[p.field] || []).push(p); }
    });
    var all = form.dataset.submitted === "1";
    var shown = 0;
    form.querySelectorAll("ul.problems[data-path]").forEach(function (ul) {
      var path = ul.dataset.path;
      var list = (all || touched[path]) ? (byField[path] || []) : [];
      ul.textContent = "";
      list.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.message;
        ul.appendChild(li);
      });
      shown += list.length;
      var wrap = ul.closest(".field");
      if (wrap) { wrap.classList.toggle("has-problem", list.length > 0); }
      form.querySelectorAll('[data-path="' + path + '"]').forEach(function (el) {
        if (el.tagName === "UL") { return; }
        var target = el.type === "radio" ? el.closest("fieldset") : el;
        if (list.length) { target.setAttribute("aria-invalid", "true"); } else { target.removeAttribute("aria-invalid"); }
      });
    });
    var summary = document.getElementById("summary");
    if (summary) {
      summary.className = shown ? "error" : "";
      summary.textContent = shown ? shown + " problem(s) shown beside the fields." : "";
    }
    document.body.dataset.checked = String(++serial);
  }

  function recheck(form) {
    var body = new FormData(form);
    fetch(form.dataset.check, {
      method: "POST", body: new URLSearchParams(body), credentials: "same-origin",
      headers: {"X-CSRF-Token": body.get("csrf_token")}
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (data) { render(form, data); }
    }).catch(function () { /* offline: the server checks the form when it is sent */ });
  }

  function later(form) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { recheck(form); }, 250);
  }

  function ssnToggle(input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "show-ssn";
    button.textContent = "Show";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", "Show the Social Security number");
    button.addEventListener("click", function () {
      var hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      button.textContent = hidden ? "Hide" : "Show";
      button.setAttribute("aria-pressed", hidden ? "true" : "false");
    });
    input.insertAdjacentElement("afterend", button);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("online-form");
    if (!form) { return; }
    controls(form).forEach(function (el) {
      var mark = function () { touched[el.dataset.path] = true; };
      el.addEventListener("input", function () { mark(); later(form); });
      el.addEventListener("change", function () { mark(); later(form); });
      el.addEventListener("blur", function () { if (el.value) { mark(); later(form); } });
    });
    form.querySelectorAll("input.ssn").forEach(ssnToggle);
    document.body.dataset.ready = "1";
  });
})();
