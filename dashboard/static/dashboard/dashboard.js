// The dashboard's hourly events chart: a stacked bar per hour, one colour per top event type.
// The figures come from the page (json_script); the table under the chart carries the same totals
// for those who would rather read, or run without JavaScript.
(() => {
  const PALETTE = ["#417690", "#79aec8", "#e8a33d", "#5b9a68", "#b5566e", "#9a9a9a"];

  function themeColor(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function drawEventsChart() {
    const canvas = document.getElementById("events-chart");
    const source = document.getElementById("events-chart-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const text = themeColor("--body-quiet-color", "#666");
    const grid = themeColor("--hairline-color", "#e8e8e8");
    const chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map((series, n) => ({
          label: series.name,
          data: series.counts,
          backgroundColor: PALETTE[n % PALETTE.length],
          borderWidth: 0,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { color: text, boxWidth: 12 } } },
        scales: {
          x: { stacked: true, ticks: { color: text, maxRotation: 0 }, grid: { display: false } },
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: { color: text, precision: 0 },
            grid: { color: grid },
          },
        },
      },
    });
    canvas.dataset.rendered = "true"; // for the browser tests: the chart was drawn
    window.beaconEventsChart = chart;
  }

  document.addEventListener("DOMContentLoaded", drawEventsChart);
})();
