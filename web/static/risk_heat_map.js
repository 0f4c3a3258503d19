/* Risk register: the 5 x 5 heat map (impact across, likelihood up, the count of
   risks in each cell), drawn with Apache ECharts from the page's
   <script type="application/json" id="risk-heat-data"> block. The same counts are
   in the table beside it; without this script nothing is lost. */
(function () {
  "use strict";

  function start() {
    var block = document.getElementById("risk-heat-data");
    if (!block || typeof echarts === "undefined") { return; }
    var spec;
    try { spec = JSON.parse(block.textContent); } catch (e) { return; }
    var el = document.getElementById(spec.id);
    if (!el) { return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { position: "top" },
      grid: { left: 48, right: 16, top: 16, bottom: 48 },
      xAxis: { type: "category", data: spec.x, name: spec.x_name, nameLocation: "middle", nameGap: 28, splitArea: { show: true } },
      yAxis: { type: "category", data: spec.y, name: spec.y_name, nameLocation: "middle", nameGap: 32, splitArea: { show: true } },
      visualMap: { min: 0, max: spec.max, show: false, inRange: { color: ["#f4f6f8", "#f5c26b", "#d9534f"] } },
      series: [{ type: "heatmap", data: spec.data, label: { show: true } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
