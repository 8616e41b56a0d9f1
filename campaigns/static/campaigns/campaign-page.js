// The campaign page's chart: pushes sent (bars) and opened (line) per hour or per day. The stats
// above the chart carry the totals without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  window.beaconCampaignChart = beaconCharts.draw(
    "campaign-chart",
    "campaign-chart-data",
    (data, { text, grid }) => ({
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
        scales: {
          x: { ticks: { color: text, maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
        },
      },
    }),
  );
});
