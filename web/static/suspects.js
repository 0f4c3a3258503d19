/* Suspected-alert pages: draw the map (Leaflet, no tiles: the territories
   themselves, so it works without internet) from the page's
   <script type="application/json" id="suspects-data"> block. Every point is also
   in a table on the page; without this script nothing is lost. */
(function () {
  "use strict";

  function readSpec() {
    var block = document.getElementById("suspects-data");
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function legend(words, kinds) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "suspects-legend");
      kinds.forEach(function (kind) {
        var row = L.DomUtil.create("div", "suspects-legend-row", box);
        L.DomUtil.create("span", "suspects-swatch suspects-swatch-" + kind, row);
        row.appendChild(document.createTextNode(words[kind]));
      });
      return box;
    };
    return control;
  }

  function draw(spec) {
    var el = document.getElementById("suspects-map");
    if (!el || typeof L === "undefined") { return; }
    var map = L.map(el, { attributionControl: false, worldCopyJump: true, zoomControl: false });
    map.setView([20, 0], 1);  // a view before any layer (Leaflet 1.9 needs one)
    L.control.zoom({ zoomInTitle: spec.words.zoom_in, zoomOutTitle: spec.words.zoom_out }).addTo(map);
    var bounds = L.latLngBounds([]);
    function outline(collection, style) {
      var layer = L.geoJSON(collection, {
        style: style,
        onEachFeature: function (feature, l) {
          l.bindTooltip(feature.properties.name + " (" + feature.properties.code + ")");
        }
      }).addTo(map);
      if (layer.getLayers().length) { bounds.extend(layer.getBounds()); }
    }
    outline(spec.zones, { color: "#2e7d4f", weight: 1, fillColor: "#b7e1c1", fillOpacity: 0.4 });
    outline(spec.territories, { color: "#2c6e9b", weight: 1, fillColor: "#9cc3de", fillOpacity: 0.25 });
    var kinds = spec.zones.features.length ? ["zone"] : [];
    spec.points.forEach(function (p) {
      if (p.lat === null || p.lon === null) { return; }
      var inspection = p.kind === "inspection";
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: inspection ? 7 : 5, weight: 1,
        color: inspection ? "#1b4b6b" : "#b03a2e",
        fillColor: inspection ? "#2c6e9b" : "#e74c3c", fillOpacity: 0.85
      }).bindTooltip(p.label).addTo(map);
      if (p.href) { marker.on("click", function () { window.location.href = p.href; }); }
      if (kinds.indexOf(p.kind) < 0) { kinds.push(p.kind); }
      bounds.extend([p.lat, p.lon]);
    });
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.15), { maxZoom: 9 }); }
    if (kinds.length) { legend(spec.words, kinds).addTo(map); }
  }

  function start() {
    var spec = readSpec();
    if (spec) { draw(spec); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
