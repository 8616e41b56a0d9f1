// The dashboard's hourly events chart: a stacked bar per hour, one colour per top event type.
// The table under the chart carries the same totals for those who would rather read, or run
// without JavaScript.
(() => {
  const PALETTE = ["#417690", "#79aec8", "#e8a33d", "#5b9a68", "#b5566e", "#9a9a9a"];

  document.addEventListener("DOMContentLoaded", () => {
    window.beaconEventsChart = beaconCharts.draw(
      "events-chart",
      "events-chart-data",
      (data, { text, grid }) => ({
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
      }),
    );
  });
})();
