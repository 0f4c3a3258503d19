/* Home dashboards (and the settlement run page's chart): draw the charts (Apache ECharts) and the map (Leaflet) from the
   page's <script type="application/json" id="dashboard-data"> block. Every figure
   is also in a table on the page; without this script nothing is lost. No tiles:
   the map draws the territories themselves, so it works without internet. */
(function () {
  "use strict";

  function readSpec() {
    var block = document.getElementById("dashboard-data");
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function drawChart(spec) {
    var el = document.getElementById(spec.id);
    if (!el || typeof echarts === "undefined") { return; }
    if (!spec.categories.length) { el.classList.add("dash-chart-empty"); return; }
    var valueAxis = { type: "value" };
    if (spec.percent) { valueAxis.axisLabel = { formatter: "{value}%" }; }
    if (spec.unit) { valueAxis.name = spec.unit; }
    var categoryAxis = { type: "category", data: spec.categories };
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { show: spec.series.length > 1, top: 0 },
      grid: { left: 8, right: 16, top: spec.series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
      xAxis: spec.horizontal ? valueAxis : categoryAxis,
      yAxis: spec.horizontal ? categoryAxis : valueAxis,
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, stack: spec.stack ? "all" : undefined };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function legendControl(legend) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "dash-legend");
      [["territory", legend.territory], ["sighting", legend.sighting], ["transfer", legend.transfer]]
        .forEach(function (item) {
          var row = L.DomUtil.create("div", "dash-legend-row", box);
          L.DomUtil.create("span", "dash-swatch dash-swatch-" + item[0], row);
          row.appendChild(document.createTextNode(item[1]));
        });
      return box;
    };
    return control;
  }

  function drawMap(spec) {
    var el = document.getElementById(spec.id);
    if (!el || typeof L === "undefined") { return; }
    var map = L.map(el, { attributionControl: false, worldCopyJump: true, zoomControl: false });
    // a view before any layer: Leaflet 1.9 draws a shape added to a map without one
    // before its renderer has bounds ("reading 'min'") and stops there
    map.setView([20, 0], 1);
    L.control.zoom({ zoomInTitle: spec.zoom.in, zoomOutTitle: spec.zoom.out }).addTo(map);
    var bounds = L.latLngBounds([]);
    var zones = L.geoJSON(spec.territories, {
      style: { color: "#2c6e9b", weight: 1, fillColor: "#9cc3de", fillOpacity: 0.35 },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(feature.properties.name + " (" + feature.properties.code + ")");
      }
    }).addTo(map);
    if (zones.getLayers().length) { bounds.extend(zones.getBounds()); }
    spec.transfers.forEach(function (t) {
      L.polyline([t.from, t.to], { color: "#8e44ad", weight: 2, dashArray: "6 4" })
        .bindTooltip(t.label).addTo(map);
      bounds.extend(t.from); bounds.extend(t.to);
    });
    spec.sightings.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], { radius: 5, color: "#b03a2e", weight: 1, fillColor: "#e74c3c", fillOpacity: 0.85 })
        .bindTooltip(p.label).addTo(map);
      bounds.extend([p.lat, p.lon]);
    });
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.1)); } else { map.setView([20, 0], 1); }
    legendControl(spec.legend).addTo(map);
  }

  function start() {
    var spec = readSpec();
    if (!spec) { return; }
    (spec.charts || []).forEach(drawChart);
    if (spec.map) { drawMap(spec.map); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
