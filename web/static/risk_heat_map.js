/* Risk register: the 5 x 5 heat map (impact across, likelihood up, each cell
   coloured by its band - score = likelihood x impact - and labelled with the count
   of risks in it), drawn with Apache ECharts from the page's
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
    var data = spec.data.map(function (d) {
      // [impact - 1, likelihood - 1, count, score]: the colour is the cell's band,
      // the label the count; an empty cell is paler
      return { value: d, itemStyle: { opacity: d[2] ? 1 : 0.35 } };
    });
    chart.setOption({
      tooltip: {
        position: "top",
        formatter: function (p) {
          return spec.y_name + " " + spec.y[p.value[1]] + " × " + spec.x_name + " " +
            spec.x[p.value[0]] + " = " + p.value[3] + ": " + p.value[2];
        }
      },
      grid: { left: 48, right: 16, top: 16, bottom: 80 },
      xAxis: { type: "category", data: spec.x, name: spec.x_name, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "category", data: spec.y, name: spec.y_name, nameLocation: "middle", nameGap: 32 },
      visualMap: {
        type: "piecewise", dimension: 3, orient: "horizontal", left: "center", bottom: 0,
        pieces: spec.bands.map(function (b) {
          return { min: b.low, max: b.high, color: b.color, label: b.label + " (" + b.low + "–" + b.high + ")" };
        })
      },
      series: [{
        type: "heatmap", data: data,
        label: { show: true, fontSize: 14, formatter: function (p) { return String(p.value[2]); } },
        itemStyle: { borderColor: "#fff", borderWidth: 2 }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
