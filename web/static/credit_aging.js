/* Open items' aging board: a stacked bar per aging bucket (statements, invoices,
   deliveries), one chart per currency, drawn with Apache ECharts from the page's
   <script type="application/json" id="aging-data"> block. Every number is also in
   the table beside the picture; without this script nothing is lost. */
(function () {
  "use strict";

  function draw(spec) {
    var el = document.getElementById(spec.id);
    if (!el || typeof echarts === "undefined") { return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.categories },
      yAxis: { type: "value", min: 0, name: spec.currency },
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "open", data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    var block = document.getElementById("aging-data");
    if (!block) { return; }
    var spec;
    try { spec = JSON.parse(block.textContent); } catch (e) { return; }
    (spec.charts || []).forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
