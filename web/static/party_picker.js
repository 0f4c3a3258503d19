// Party pickers: search as you type, without a library or a CDN (the CSP allows 'self' only).
//
// 1. <input data-party-picker="/api/v1/parties"> is a plain text field for a party code
//    (the server checks it and names an unknown code); with this script it suggests the
//    parties whose code or name starts with what was typed, through a <datalist>.
//    <input data-user-picker="/api/v1/users"> does the same for a username (administrators'
//    token form), suggesting users whose username or display name starts with what was typed.
// 2. A <select data-party-select> with more than 20 options gets a search box above it
//    that hides the options not matching what was typed.
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

  function filterSelect(select) {
    if (select.options.length <= 20) { return; }
    var box = document.createElement("input");
    box.type = "search";
    box.className = "party-filter";
    box.setAttribute("aria-label", select.getAttribute("data-party-select") || "Search");
    box.setAttribute("placeholder", select.getAttribute("data-party-select") || "");
    box.autocomplete = "off";
    select.insertAdjacentElement("beforebegin", box);
    box.addEventListener("input", function () {
      var text = box.value.trim().toLowerCase();
      var firstShown = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var shown = !text || option.value === "" || option.text.toLowerCase().indexOf(text) >= 0;
        option.hidden = !shown;
        if (shown && option.value !== "" && firstShown === null) { firstShown = option; }
      });
      if (firstShown !== null && select.selectedOptions.length &&
          select.selectedOptions[0].hidden) {
        firstShown.selected = true;
      }
    });
  }

  document.querySelectorAll("input[data-party-picker]").forEach(function (input) {
    pickerInput(input, input.getAttribute("data-party-picker"), partyItem);
  });
  document.querySelectorAll("input[data-user-picker]").forEach(function (input) {
    pickerInput(input, input.getAttribute("data-user-picker"), userItem);
  });
  document.querySelectorAll("select[data-party-select]").forEach(filterSelect);
})();
