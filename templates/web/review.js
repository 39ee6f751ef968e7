// Review page helpers: outline provenance boxes, jump to a field's box, validate as one types (the
// server's rules: nothing is checked here), confirm a value, warn before unsaved edits are lost,
// say who else has the request open, keyboard shortcuts, page zoom. Plain script, no build step;
// the page works without it too (forms post, the server checks).
"use strict";
(function () {
  var DEBOUNCE_MS = 300, HEARTBEAT_MS = 20000;
  var form, initial = "", submitting = false, leaving = false, checkSeq = 0, timer = null;

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

  // A field's box on a page image, or its span in a mail body or text (shown, and scrolled to).
  function showBox(path) {
    document.querySelectorAll(".box.active, mark.span.active").forEach(function (b) { b.classList.remove("active"); });
    var box = document.getElementById("box-" + path) || document.getElementById("span-" + path);
    if (box) {
      var fold = box.closest("details");
      if (fold && !fold.open) { fold.open = true; }
      box.classList.add("active");
      // "nearest": scroll the source pane, not the page, so the field just clicked stays in view.
      box.scrollIntoView({block: "nearest", inline: "nearest", behavior: "auto"});
    }
    return box;
  }

  function controlsOf(path) {
    return Array.prototype.slice.call(document.querySelectorAll('#fields-form [name="f:' + path + '"]'));
  }

  // One stop per field for Alt+N / Alt+P: a radio group's checked (or first) button; folded fields skipped.
  function fieldStops() {
    var seen = {}, out = [];
    document.querySelectorAll("#fields-form input[data-path], #fields-form select[data-path]").forEach(function (el) {
      if (seen[el.dataset.path] || el.offsetParent === null) { return; }
      if (el.type === "radio") {
        var group = controlsOf(el.dataset.path);
        el = group.filter(function (r) { return r.checked; })[0] || group[0];
      }
      seen[el.dataset.path] = true;
      out.push(el);
    });
    return out;
  }

  function focusField(el) {
    var fold = el.closest("details");
    if (fold && !fold.open) { fold.open = true; }
    el.focus();
    showBox(el.dataset.path);
  }

  function focusNext(onlyProblems) {
    var stops = fieldStops();
    if (!stops.length) { return; }
    var start = stops.indexOf(document.activeElement);
    for (var i = 1; i <= stops.length; i++) {
      var el = stops[(start + i) % stops.length];
      if (!onlyProblems || el.getAttribute("aria-invalid") === "true") { focusField(el); return; }
    }
  }

  function labelOf(path) {
    var wrap = document.querySelector('.field[data-path="' + path + '"]');
    var group = wrap && wrap.closest("fieldset.group");
    var own = wrap && wrap.querySelector("label, legend");
    var text = own ? own.firstChild.textContent.trim() : path;
    var head = group ? group.querySelector("legend").textContent.split(" (")[0] : "";
    return head && head !== text ? head + ": " + text : text;
  }

  function item(p) {
    var li = document.createElement("li");
    li.textContent = p.code.replace(/_/g, " ") + ": " + p.message;
    return li;
  }

  function renderProblems(data) {
    var byField = {}, general = [], order = [];
    data.problems.forEach(function (p) {
      if (p.field) {
        if (!byField[p.field]) { byField[p.field] = []; order.push(p.field); }
        byField[p.field].push(p);
      } else { general.push(p); }
    });
    document.querySelectorAll("#fields-form ul.problems[data-path]").forEach(function (ul) {
      var path = ul.dataset.path, list = byField[path] || [];
      ul.textContent = "";
      list.forEach(function (p) { ul.appendChild(item(p)); });
      controlsOf(path).forEach(function (input) {
        if (list.length) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      });
      var wrap = ul.closest(".field");
      if (wrap) { wrap.classList.toggle("has-problem", list.length > 0); }
    });
    var g = document.getElementById("general-problems");
    if (g) { g.textContent = ""; general.forEach(function (p) { g.appendChild(item(p)); }); }
    var links = document.getElementById("problem-list");
    if (links) {
      links.textContent = "";
      document.querySelectorAll("#fields-form .field[data-path]").forEach(function (wrap) {
        (byField[wrap.dataset.path] || []).forEach(function (p) {
          var li = document.createElement("li"), a = document.createElement("a");
          var control = controlsOf(p.field)[0];
          a.href = "#" + (control ? (control.type === "radio" ? control.closest("fieldset").id : control.id) : "");
          a.dataset.path = p.field;
          a.textContent = labelOf(p.field);
          li.dataset.code = p.code;
          li.appendChild(a);
          li.appendChild(document.createTextNode(": " + p.code.replace(/_/g, " ")));
          links.appendChild(li);
        });
      });
    }
    var summary = document.getElementById("summary");
    if (summary) {
      summary.textContent = data.blocking ? data.blocking + " problem(s) to correct before the request can be accepted."
        : "No problem blocks accepting.";
    }
  }

  function recheck() {
    if (!form) { return; }
    clearTimeout(timer);
    var body = new FormData(form), seq = ++checkSeq;
    fetch(form.dataset.check, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRF-Token": body.get("csrf_token")}
    }).then(function (r) { return r.ok || r.status === 422 ? r.json() : null; }).then(function (data) {
      if (data && seq === checkSeq) { renderProblems(data); document.body.dataset.checked = String(Date.now()); }
    });
  }

  function recheckSoon() {
    clearTimeout(timer);
    timer = setTimeout(recheck, DEBOUNCE_MS);
  }

  function snapshot() {
    if (!form) { return ""; }
    var out = [];
    new FormData(form).forEach(function (v, k) { if (k.indexOf("f:") === 0) { out.push(k + "=" + v); } });
    return out.join("&");
  }

  function dirty() { return !!form && !submitting && snapshot() !== initial; }

  function showDirty() {
    var d = document.getElementById("dirty");
    if (d) { d.textContent = dirty() ? "Unsaved changes" : ""; }
  }

  // Leaving by Alt+R, "Next request" or any link of the page: asked first when edits are unsaved.
  function mayLeave() {
    if (!dirty()) { return true; }
    var ok = window.confirm("You have unsaved changes on this request. Leave without saving them?");
    if (ok) { leaving = true; }
    return ok;
  }

  function confirmValue(button) {
    var path = button.value, body = new FormData();
    body.append("csrf_token", form.querySelector('[name="csrf_token"]').value);
    body.append("path", path);
    button.disabled = true;
    fetch(form.dataset.confirm, {
      method: "POST", body: body, credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (r) { return r.json().then(function (d) { return {ok: r.ok, data: d}; }); }).then(function (res) {
      var wrap = button.closest(".field");
      if (!res.ok) {
        button.disabled = false;
        var ul = wrap.querySelector("ul.problems");
        ul.appendChild(item({code: "not_confirmed", message: res.data.detail || "refused"}));
        return;
      }
      wrap.classList.remove("low");
      wrap.classList.add("confirmed");
      var conf = wrap.querySelector(".conf");
      if (conf) { conf.textContent = "confirmed"; }
      var next = controlsOf(path)[0];
      button.remove();
      if (next) { next.focus(); }
      var version = form.querySelector('[name="version"]');
      if (version) { version.value = String(parseInt(version.value || "0", 10) + 1); }
      recheck();
    });
  }

  function heartbeat() {
    var p = document.getElementById("presence");
    if (!p || !form) { return; }
    var body = new FormData();
    body.append("csrf_token", form.querySelector('[name="csrf_token"]').value);
    if (dirty()) { body.append("editing", "1"); }
    fetch(p.dataset.url, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) { return; }
        var who = data.editing.length ? data.editing : data.others;
        p.textContent = who.length ? "Another clerk is editing this request: " + who.join(", ") +
          (data.editing.length ? " (changes not saved yet)." : ".") : "";
      });
  }

  function zoom(mode) {
    var source = document.querySelector(".source");
    if (!source) { return; }
    ["fit", "width", "double"].forEach(function (m) { source.classList.toggle(m, m === mode); });
    document.querySelectorAll(".zoom button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.zoom === mode));
    });
  }

  // The source and the fields fill the window below the request's heading, however tall a
  // sender-trust banner or a message makes it: one screen, each column scrolling on its own.
  function fitReview() {
    var review = document.querySelector(".review");
    if (!review) { return; }
    var top = review.getBoundingClientRect().top + window.scrollY;
    var height = Math.max(420, window.innerHeight - top - 8);
    review.style.height = height + "px";
    var source = review.querySelector(".source"), first = review.querySelector(".source .page");
    if (source && first) {
      var above = first.getBoundingClientRect().top - source.getBoundingClientRect().top + source.scrollTop;
      review.style.setProperty("--fit", Math.max(200, height - above - 16) + "px");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    form = document.getElementById("fields-form");
    placeBoxes();
    fitReview();
    window.addEventListener("resize", fitReview);
    initial = snapshot();
    document.querySelectorAll("button.show-box").forEach(function (b) {
      b.addEventListener("click", function () { showBox(b.dataset.path); });
    });
    document.querySelectorAll(".zoom button").forEach(function (b) {
      b.addEventListener("click", function () { zoom(b.dataset.zoom); });
    });
    if (form) {
      form.querySelectorAll("input[data-path], select[data-path]").forEach(function (el) {
        el.addEventListener("focus", function () {
          var help = el.closest(".field").querySelector(".help"), line = document.getElementById("field-help");
          if (line) { line.textContent = help ? help.textContent : ""; }
          if (document.getElementById("box-" + el.dataset.path) || document.getElementById("span-" + el.dataset.path)) {
            showBox(el.dataset.path);
          }
        });
        el.addEventListener("input", function () {
          var mark = document.getElementById("dirty"), was = mark ? mark.textContent : "";
          showDirty();
          recheckSoon();
          if (!was && dirty()) { heartbeat(); }  // the others learn at once that edits are under way
        });
        el.addEventListener("change", function () { showDirty(); recheck(); });
      });
      form.querySelectorAll("button.confirm").forEach(function (b) {
        b.addEventListener("click", function (ev) { ev.preventDefault(); confirmValue(b); });
      });
      form.addEventListener("submit", function () { submitting = true; });
      setInterval(heartbeat, HEARTBEAT_MS);
    }
    var problems = document.getElementById("problem-list");
    if (problems) {
      problems.addEventListener("click", function (ev) {
        var a = ev.target.closest("a[data-path]");
        if (!a) { return; }
        var stop = fieldStops().filter(function (el) { return el.dataset.path === a.dataset.path; })[0] ||
          controlsOf(a.dataset.path)[0];
        if (stop) { ev.preventDefault(); focusField(stop); }
      });
    }
    var reason = document.getElementById("reason"), reply = document.querySelector("#preview-reject pre");
    if (reason && reply) {
      var template = reply.textContent;
      reason.addEventListener("input", function () {
        reply.textContent = template.replace("(the reason you type)", reason.value || "(the reason you type)");
      });
    }
    document.querySelectorAll("form:not(#fields-form)").forEach(function (f) {
      // Accept, reject, claim...: the edits of the form would be lost with the page.
      f.addEventListener("submit", function (ev) { if (!mayLeave()) { ev.preventDefault(); } else { leaving = true; } });
    });
    document.addEventListener("click", function (ev) {
      var a = ev.target.closest("a[href]");
      if (!a || a.getAttribute("href").charAt(0) === "#" || a.target) { return; }
      if (!mayLeave()) { ev.preventDefault(); }
    });
    window.addEventListener("beforeunload", function (ev) {
      if (dirty() && !leaving) { ev.preventDefault(); ev.returnValue = ""; }
    });
    window.addEventListener("pagehide", function () {
      var p = document.getElementById("presence");
      if (!p || !form || !navigator.sendBeacon) { return; }
      var body = new FormData();
      body.append("csrf_token", form.querySelector('[name="csrf_token"]').value);
      body.append("leave", "1");
      navigator.sendBeacon(p.dataset.url, body);
    });
    document.addEventListener("keydown", function (ev) {
      var key = ev.key.toLowerCase();
      if (ev.altKey && key === "n") { ev.preventDefault(); focusNext(false); }
      else if (ev.altKey && key === "p") { ev.preventDefault(); focusNext(true); }
      else if ((ev.altKey || ev.ctrlKey) && key === "s") {
        if (form && document.getElementById("save")) { ev.preventDefault(); form.requestSubmit(); }
      } else if (ev.altKey && key === "r") {
        var next = document.getElementById("next-request");
        if (next) { ev.preventDefault(); if (mayLeave()) { window.location.href = next.href; } }
      }
    });
  });
})();
