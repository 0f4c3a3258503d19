// The inspector's scan page (web/templates/inspect/scan.html): camera scan with
// html5-qrcode (served from /static/vendor), the phone's location on request, and a
// check of the chosen photos before sending. Everything still works without it:
// the code can be typed or read from a photo of the label on the server.
(function () {
  "use strict";
  var form = document.getElementById("inspect-form");
  if (!form) { return; }
  var words = form.dataset;
  var code = document.getElementById("code");
  var fill = function (template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  };

  // --- camera scan -----------------------------------------------------------
  var toggle = document.getElementById("camera-toggle");
  var reader = document.getElementById("camera-reader");
  var cameraStatus = document.getElementById("camera-status");
  var scanner = null;
  var stopCamera = function () {
    if (!scanner) { return Promise.resolve(); }
    var s = scanner;
    scanner = null;
    return s.stop().catch(function () {}).then(function () {
      reader.hidden = true;
      toggle.textContent = words.cameraStart;
    });
  };
  if (window.Html5Qrcode && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      if (scanner) { stopCamera(); return; }
      reader.hidden = false;
      scanner = new window.Html5Qrcode("camera-reader", { verbose: false });
      toggle.textContent = words.cameraStop;
      cameraStatus.textContent = "";
      scanner.start(
        { facingMode: "environment" },
        { fps: 10, qrbox: function (w, h) { var s = Math.floor(Math.min(w, h) * 0.7); return { width: s, height: s }; } },
        function (text) {
          code.value = text;
          cameraStatus.textContent = fill(words.cameraRead, { code: text });
          stopCamera();
          var shop = document.getElementById("shop");
          if (shop && !shop.value) { shop.focus(); }
        },
        function () { /* no code in this frame: keep looking */ }
      ).catch(function () {
        cameraStatus.textContent = words.cameraNone;
        scanner = null;
        reader.hidden = true;
        toggle.textContent = words.cameraStart;
      });
    });
  }

  // --- location ---------------------------------------------------------------
  var locate = document.getElementById("locate");
  var locateStatus = document.getElementById("locate-status");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      locateStatus.textContent = words.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        locateStatus.textContent = fill(words.located, { metres: Math.round(pos.coords.accuracy) });
      }, function (err) {
        locateStatus.textContent = fill(words.locationFailed, { reason: err.message || String(err.code) });
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  } else {
    locateStatus.textContent = words.locationUnsupported;
  }

  // --- photos -----------------------------------------------------------------
  var photos = document.getElementById("photos");
  var chosen = document.getElementById("photos-chosen");
  var tooMuch = function () {
    var files = photos.files || [];
    var total = 0;
    for (var i = 0; i < files.length; i++) { total += files[i].size; }
    var mb = (total / 1048576).toFixed(1);
    if (files.length > Number(words.maxPhotos)) { return words.photosTooMany; }
    if (total > Number(words.maxTotal) - 262144) { return fill(words.photosTooBig, { mb: mb }); }
    chosen.textContent = files.length ? fill(words.photosChosen, { count: files.length, mb: mb }) : "";
    return "";
  };
  photos.addEventListener("change", function () {
    var problem = tooMuch();
    if (problem) { chosen.textContent = problem; }
  });
  form.addEventListener("submit", function (event) {
    var problem = tooMuch();
    if (problem) {
      event.preventDefault();
      chosen.textContent = problem;
      photos.focus();
      return;
    }
    stopCamera();
  });
}());
