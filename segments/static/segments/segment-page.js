// The segment page's size-over-time chart: members at the end of each day (a line), with the
// day's entries and exits as bars.
document.addEventListener("DOMContentLoaded", () => {
  window.beaconSegmentChart = beaconCharts.draw(
    "segment-size-chart",
    "segment-size-data",
    (data, { text, grid }) => ({
      data: {
        labels: data.labels,
        datasets: [
          {
            type: "line",
            label: "Members",
            data: data.sizes,
            borderColor: "#417690",
            backgroundColor: "#417690",
            tension: 0.2,
            pointRadius: 2,
            yAxisID: "size",
          },
          { type: "bar", label: "Entered", data: data.entered, backgroundColor: "#5b9a68", yAxisID: "moves" },
          { type: "bar", label: "Exited", data: data.exited, backgroundColor: "#b5566e", yAxisID: "moves" },
        ],
      },
      options: {
        scales: {
          x: { ticks: { color: text, maxRotation: 0, autoSkipPadding: 16 }, grid: { display: false } },
          size: {
            position: "left",
            beginAtZero: true,
            ticks: { color: text, precision: 0 },
            grid: { color: grid },
          },
          moves: {
            position: "right",
            beginAtZero: true,
            ticks: { color: text, precision: 0 },
            grid: { display: false },
          },
        },
      },
    }),
  );
});
