// Draws the reform report (before → after, computed and published) with ECharts.
(function () {
  function draw(node) {
    var data = JSON.parse(document.getElementById(node.dataset.source).textContent);
    var chart = window.echarts.init(node, null, { renderer: "svg" });
    var series = [
      { name: data.names[0], type: "bar", data: data.before },
      { name: data.names[1], type: "bar", data: data.after },
    ];
    if (data.published_before.some(function (v) { return v !== null; })) {
      series.push({ name: data.names[2], type: "bar", data: data.published_before });
      series.push({ name: data.names[3], type: "bar", data: data.published_after });
    }
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 90, right: 20, top: 40, bottom: 20 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: data.labels, inverse: true },
      series: series,
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-report-chart]").forEach(draw);
  });
})();
