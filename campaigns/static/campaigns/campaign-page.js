// The campaign page's chart: pushes sent (bars) and opened (line) per hour or per day. The figures
// come from the page (json_script); the stats above the chart carry the totals without JavaScript.
(() => {
  function themeColor(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function drawActivityChart() {
    const canvas = document.getElementById("campaign-chart");
    const source = document.getElementById("campaign-chart-data");
    if (!canvas || !source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const text = themeColor("--body-quiet-color", "#666");
    const grid = themeColor("--hairline-color", "#e8e8e8");
    const chart = new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: "Sent", data: data.sent, backgroundColor: "#79aec8", borderWidth: 0 },
          {
            type: "line",
            label: "Opened",
            data: data.opened,
            borderColor: "#e8a33d",
            backgroundColor: "#e8a33d",
            pointRadius: 2,
            tension: 0.2,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { color: text, boxWidth: 12 } } },
        scales: {
          x: { ticks: { color: text, maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
        },
      },
    });
    canvas.dataset.rendered = "true"; // for the browser tests: the chart was drawn
    window.beaconCampaignChart = chart;
  }

  document.addEventListener("DOMContentLoaded", drawActivityChart);
})();
