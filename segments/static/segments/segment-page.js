// The segment page's size-over-time chart: members at the end of each day (a line), with the
// day's entries and exits as bars. The figures come from the page (json_script).
(() => {
  function themeColor(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function drawSizeChart() {
    const canvas = document.getElementById("segment-size-chart");
    const source = document.getElementById("segment-size-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const text = themeColor("--body-quiet-color", "#666");
    const grid = themeColor("--hairline-color", "#e8e8e8");
    const chart = new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          { type: "line", label: "Members", data: data.sizes, borderColor: "#417690", backgroundColor: "#417690", tension: 0.2, pointRadius: 2, yAxisID: "size" },
          { type: "bar", label: "Entered", data: data.entered, backgroundColor: "#5b9a68", yAxisID: "moves" },
          { type: "bar", label: "Exited", data: data.exited, backgroundColor: "#b5566e", yAxisID: "moves" },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { color: text, boxWidth: 12 } } },
        scales: {
          x: { ticks: { color: text, maxRotation: 0, autoSkipPadding: 16 }, grid: { display: false } },
          size: { position: "left", beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
          moves: { position: "right", beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { display: false } },
        },
      },
    });
    canvas.dataset.rendered = "true"; // for the browser tests: the chart was drawn
    window.beaconSegmentChart = chart;
  }

  document.addEventListener("DOMContentLoaded", drawSizeChart);
})();
