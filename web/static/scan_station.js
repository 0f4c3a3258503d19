// Scan station: record each scan with fetch so the code field keeps the focus.
// Without this script the form still works (post, then redirect back).
(function () {
  "use strict";
  var form = document.getElementById("station-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var code = form.querySelector("input[name=code]");
  var photo = form.querySelector("input[name=photo]");
  var seqField = form.querySelector("input[name=device_seq]");
  var answers = document.getElementById("station-answers");
  var recent = document.getElementById("station-recent");
  var url = form.getAttribute("data-json-url");
  var queue = Promise.resolve();
  // The counter-party and acting-party pickers (text fields that party_picker.js
  // turns into search-as-you-type with a datalist).
  var pickers = Array.prototype.slice.call(form.querySelectorAll("input[data-party-picker]"));
  var STRIDE = 1000;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // Words come from the page (data-* attributes, translated on the server).
  function words(name, status) {
    return (form.getAttribute("data-" + name) || name).replace("%(status)s", String(status || ""));
  }

  function answerNode(scan) {
    var box = el("div", "scan-answer scan-" + scan.tone);
    box.appendChild(el("p", "scan-headline", scan.headline));
    box.appendChild(el("p", "scan-key", scan.key || scan.code || "\u2014"));
    box.appendChild(el("p", "scan-detail", scan.detail || scan.kind_label || scan.kind || ""));
    if (scan.message) { box.appendChild(el("p", "scan-message", scan.message)); }
    return box;
  }

  function rowNode(scan) {
    var tr = el("tr", "recent-" + scan.tone);
    tr.appendChild(el("td", "", scan.at));
    tr.appendChild(el("td", "", scan.kind_label || scan.kind));
    tr.appendChild(el("td", "hash", scan.key || scan.code || "\u2014"));
    tr.appendChild(el("td", "", scan.entries ? String(scan.units) : "\u2014"));
    var result = el("td");
    result.appendChild(el("span", "pill pill-" + scan.tone, scan.headline));
    if (scan.message) { result.appendChild(document.createTextNode(" " + scan.message)); }
    tr.appendChild(result);
    return tr;
  }

  function show(scans) {
    answers.replaceChildren.apply(answers, scans.map(answerNode));
    var empty = recent.querySelector(".recent-empty");
    if (empty) { empty.remove(); }
    for (var i = scans.length - 1; i >= 0; i--) { recent.insertBefore(rowNode(scans[i]), recent.firstChild); }
    while (recent.children.length > 50) { recent.removeChild(recent.lastChild); }
  }

  function failure(message) {
    return [{ tone: "bad", headline: words("not-recorded"), kind: "", code: "", key: null, entries: 0, units: 0,
              message: message, at: new Date().toISOString().slice(11, 19) }];
  }

  function send(data) {
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (body && body.scans) {
          show(body.scans);
          if (body.next_seq && Number(body.next_seq) > Number(seqField.value)) { seqField.value = String(body.next_seq); }
        } else {
          show(failure((body && body.error) || words("server-answered", response.status)));
        }
      }, function () {
        show(failure(response.redirected || response.status === 400
          ? words("session-ended") : words("server-answered", response.status)));
      });
    }, function () {
      show(failure(words("network-error")));
    });
  }

  // The status bar: the step and counter-party in force, kept in the session at once.
  var bar = document.getElementById("station-bar");
  function showInForce(state) {
    if (!bar || !state) { return; }
    var step = document.getElementById("bar-step");
    var role = document.getElementById("bar-counterparty-role");
    var other = document.getElementById("bar-counterparty");
    var otherName = document.getElementById("bar-counterparty-name");
    var party = document.getElementById("bar-party");
    if (step) { step.textContent = state.step; }
    if (role) { role.textContent = state.counterparty_label; }
    if (other) { other.textContent = state.counterparty || bar.getAttribute("data-none"); }
    if (otherName) { otherName.textContent = state.counterparty_name || ""; }
    if (party) { party.textContent = state.party; }
    // the pickers show the codes as stored (d-at -> D-AT)
    pickers.forEach(function (input) {
      if (input.name === "counterparty") { input.value = state.counterparty || ""; }
      if (input.name === "party" && state.party) { input.value = state.party; }
    });
  }

  // A picker's problem (an unknown code) is said next to it, as the server renders it.
  function fieldError(name, message) {
    pickers.forEach(function (input) {
      var id = input.id + "-error";
      var old = document.getElementById(id);
      if (old) { old.remove(); }
      input.removeAttribute("aria-invalid");
      input.closest(".field").classList.remove("field-invalid");
      if (input.name !== name || !message) { return; }
      var p = el("p", "error", message);
      p.id = id;
      input.closest(".field").appendChild(p);
      input.closest(".field").classList.add("field-invalid");
      input.setAttribute("aria-invalid", "true");
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) {
        return x && x !== id;
      });
      described.push(id);
      input.setAttribute("aria-describedby", described.join(" "));
    });
  }

  var lastKept = null;
  function keepSettings() {
    if (!bar) { return; }
    var data = new FormData();
    var shown = [];
    ["csrf_token", "kind", "counterparty", "party", "container"].forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      if (input) { data.append(name, input.value); shown.push(input.value); }
    });
    var key = shown.join("\u0000");
    if (key === lastKept) { return; }
    lastKept = key;
    fetch(bar.getAttribute("data-settings-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok) {
          fieldError("", "");
          showInForce(body);
        } else if (body && body.error) {
          lastKept = null;  // the same values again are checked again
          fieldError(body.field || "", body.error);
          show(failure(body.error));
        }
      });
    }, function () { lastKept = null; show(failure(words("network-error"))); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var hasPhoto = photo && photo.files && photo.files.length > 0;
    if (!code.value.trim() && !hasPhoto) { code.focus(); return; }
    var data = new FormData(form);
    // The next scan gets its own device_seq at once, even while this one is in flight.
    seqField.value = String(Number(seqField.value) + STRIDE);
    code.value = "";
    if (photo) { photo.value = ""; }
    code.focus();
    queue = queue.then(function () { return send(data); });
  });

  // A keyboard-wedge scanner types wherever the focus is: bring it back to the code field.
  Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
    select.addEventListener("change", function () { keepSettings(); code.focus(); });
  });
  // A picker by keyboard: type, pick a suggestion with the arrow keys, Enter keeps it
  // (without recording a scan) and gives the focus back to the code field for the
  // scanner; Escape goes back to the code field. Leaving a changed field keeps it too.
  pickers.forEach(function (input) {
    input.addEventListener("change", keepSettings);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        setTimeout(function () { keepSettings(); code.focus(); }, 0);
      } else if (event.key === "Escape") {
        code.focus();
      }
    });
  });
  var container = form.querySelector("input[name=container]");
  if (container) { container.addEventListener("change", keepSettings); }
  if (photo) {
    photo.addEventListener("change", function () {
      if (photo.files && photo.files.length > 0) { form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true })); }
    });
  }
  window.addEventListener("focus", function () {
    if (document.activeElement === document.body) { code.focus(); }
  });
})();
