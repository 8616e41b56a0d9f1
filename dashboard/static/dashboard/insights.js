// The saved insights (the dashboard's cards, an insight's preview): each canvas with a
// data-insight-chart attribute names the json_script of its figures ({labels, series, kind}).
// Counts and sums are stacked bars (split values add up); averages, minimums and maximums are
// lines (they don't add up), with gaps where a bucket has no value.
(() => {
  const PALETTE = ["#417690", "#79aec8", "#e8a33d", "#5b9a68", "#b5566e", "#7d5ba6", "#9a9a9a"];

  function configure(data, { text, grid }) {
    const stacked = data.kind === "bar";
    return {
      type: data.kind,
      data: {
        labels: data.labels,
        datasets: data.series.map((series, n) => ({
          label: series.name,
          data: series.values,
          backgroundColor: PALETTE[n % PALETTE.length],
          borderColor: PALETTE[n % PALETTE.length],
          borderWidth: stacked ? 0 : 2,
          pointRadius: stacked ? 0 : 2,
        })),
      },
      options: {
        scales: {
          x: { stacked, ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { display: false } },
          y: { stacked, beginAtZero: true, ticks: { color: text }, grid: { color: grid } },
        },
      },
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    window.beaconInsightCharts = {};
    for (const canvas of document.querySelectorAll("canvas[data-insight-chart]")) {
      const chart = beaconCharts.draw(canvas.id, canvas.dataset.insightChart, configure);
      window.beaconInsightCharts[canvas.id] = chart;
    }
  });
})();
