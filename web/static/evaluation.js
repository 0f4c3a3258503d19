/* Evaluation pages: a review's points per indicator (bars) and a party's health
   score by day (a line), drawn with Apache ECharts from the page's
   <script type="application/json" id="evaluation-data"> block. Every number is
   also in the table beside the picture; without this script nothing is lost. */
(function () {
  "use strict";

  function readSpec() {
    var block = document.getElementById("evaluation-data");
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function draw(spec) {
    var el = document.getElementById(spec.id);
    if (!el || typeof echarts === "undefined") { return; }
    if (!spec.categories.length) { el.classList.add("dash-chart-empty"); return; }
    var bar = spec.kind === "bar";
    var valueAxis = { type: "value", min: 0 };
    if (spec.max) { valueAxis.max = spec.max; }
    var categoryAxis = { type: "category", data: spec.categories, inverse: bar };
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 24, top: 12, bottom: 8, containLabel: true },
      xAxis: bar ? valueAxis : categoryAxis,
      yAxis: bar ? categoryAxis : valueAxis,
      series: spec.series.map(function (s) {
        return {
          name: s.name, type: spec.kind, data: s.data,
          label: { show: true, position: bar ? "right" : "top" }
        };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    var spec = readSpec();
    if (!spec) { return; }
    (spec.charts || []).forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
