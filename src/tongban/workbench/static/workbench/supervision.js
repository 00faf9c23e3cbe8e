/* 督办总览: draws the per-department bar chart with the ECharts build the app serves itself
   (build/vendor/echarts, never a CDN). The same figures are in the table below the chart. */
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("supervision-chart");
    var source = document.getElementById("supervision-chart-data");
    if (!holder || !source || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    if (!data.departments.length) {
      holder.hidden = true;
      return;
    }
    var colours = { red: "#c4161c", yellow: "#e39b00", green: "#1d6b3a", paused: "#5b6472" };
    var series = ["red", "yellow", "green", "paused"].map(function (light) {
      return {
        name: data.labels[light],
        type: "bar",
        stack: "open",
        emphasis: { focus: "series" },
        itemStyle: { color: colours[light] },
        data: data.series[light]
      };
    });
    var chart = window.echarts.init(holder, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      aria: { enabled: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 16, bottom: 8, top: 36, containLabel: true },
      xAxis: { type: "category", data: data.departments, axisLabel: { interval: 0, rotate: data.departments.length > 5 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: series
    });
    holder.setAttribute("data-ready", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
