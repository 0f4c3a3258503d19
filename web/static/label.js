// The consumer's label page: share a coarse location only when the reader taps the button.
// The position is rounded to 0.01 degree (about 1 km) on the phone, before it is sent.
(function () {
  "use strict";
  var share = document.getElementById("label-share");
  if (!share || !("geolocation" in navigator) || !window.fetch) {
    return; // no button: nothing can be shared from this browser
  }
  var button = share.querySelector(".label-share-button");
  var status = share.querySelector(".label-status");
  button.hidden = false;

  function say(text, ok) {
    status.textContent = text;
    status.className = "label-status " + (ok ? "label-status-ok" : "label-status-bad");
  }

  function coarse(degrees) {
    return Math.round(degrees * 100) / 100;
  }

  function send(position) {
    var body = JSON.stringify({
      token: share.dataset.token,
      lat: coarse(position.coords.latitude),
      lon: coarse(position.coords.longitude),
      consent: true
    });
    fetch(share.dataset.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "omit",
      body: body
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.ok && answer.recorded) {
          say(answer.message, true);
        } else {
          say(answer.message || share.dataset.failed, false);
          button.disabled = false;
        }
      });
    }).catch(function () {
      say(share.dataset.failed, false);
      button.disabled = false;
    });
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say(share.dataset.asking, true);
    navigator.geolocation.getCurrentPosition(send, function () {
      say(share.dataset.denied, false);
      button.disabled = false;
    }, { enableHighAccuracy: false, maximumAge: 600000, timeout: 20000 });
  });
}());
