// Party pickers: search as you type, without a library or a CDN (the CSP allows 'self' only).
//
// 1. <input data-party-picker="/api/v1/parties"> is a plain text field for a party code
//    (the server checks it and names an unknown code); with this script it suggests the
//    parties whose code or name starts with what was typed, through a <datalist>.
//    <input data-user-picker="/api/v1/users"> does the same for a username (administrators'
//    token form), suggesting users whose username or display name starts with what was typed.
// 2. The look-up's URL says which parties: /api/v1/parties?kind=dealer,retailer for several
//    kinds (default distributors); the scan station has its own (/scan/parties.json, any kind).
// By keyboard: type, pick with the arrow keys and Enter (the browser's datalist); the field
// keeps the code picked. Forms may add their own keys (scan_station.js).
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // What a suggestion shows: [value, label] of one item of each look-up's answer.
  function partyItem(p) { return [p.code, p.code + " · " + p.name]; }
  function userItem(u) {
    return [u.username, u.display_name ? u.username + " · " + u.display_name : u.username];
  }

  function pickerInput(input, url, item) {
    var list = document.createElement("datalist");
    list.id = (input.id || input.name) + "-suggestions";
    input.setAttribute("list", list.id);
    input.insertAdjacentElement("afterend", list);
    var last = null;
    var lookUp = debounce(function () {
      var text = input.value.trim();
      if (text === last) { return; }
      last = text;
      var query = url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(text);
      fetch(query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (body) {
          while (list.firstChild) { list.removeChild(list.firstChild); }
          (body.items || []).forEach(function (found) {
            var shown = item(found);
            var option = document.createElement("option");
            option.value = shown[0];
            option.label = shown[1];
            option.textContent = shown[1];
            list.appendChild(option);
          });
        })
        .catch(function () { /* the field still works as plain text */ });
    }, 150);
    input.addEventListener("input", lookUp);
    input.addEventListener("focus", lookUp);
  }

  document.querySelectorAll("input[data-party-picker]").forEach(function (input) {
    pickerInput(input, input.getAttribute("data-party-picker"), partyItem);
  });
  document.querySelectorAll("input[data-user-picker]").forEach(function (input) {
    pickerInput(input, input.getAttribute("data-user-picker"), userItem);
  });
})();
