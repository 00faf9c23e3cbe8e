/* Simulation charts (ECharts, served by the app): amount and count by division and by industry. */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("policy-charts");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    [["division", "chart-division"], ["industry", "chart-industry"]].forEach(function (pair) {
      var rows = data[pair[0]] || [];
      var node = document.getElementById(pair[1]);
      if (!node || !rows.length) { return; }
      var chart = window.echarts.init(node, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { data: [data.labels.amount, data.labels.count] },
        grid: { left: 60, right: 50, bottom: 70, top: 40 },
        xAxis: { type: "category", data: rows.map(function (r) { return r[0]; }), axisLabel: { rotate: 30 } },
        yAxis: [{ type: "value", name: data.labels.amount }, { type: "value", name: data.labels.count }],
        series: [
          { name: data.labels.amount, type: "bar", data: rows.map(function (r) { return r[1]; }) },
          { name: data.labels.count, type: "line", yAxisIndex: 1, data: rows.map(function (r) { return r[2]; }) }
        ]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
