// What Beacon's charts share (the dashboard's events, a segment's size, a campaign's sends):
// Chart.js in the admin theme's colours, the figures read from the page (json_script), and a
// data-rendered mark on the canvas that the browser tests wait for.
window.beaconCharts = (() => {
  function themeColor(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // Draws on canvas #canvasId the chart `configure(data, colors)` describes ({type?, data,
  // options?: {scales}}), with the figures of the json_script #dataId. Returns the Chart, or null
  // when the page has no such chart.
  function draw(canvasId, dataId, configure) {
    const canvas = document.getElementById(canvasId);
    const source = document.getElementById(dataId);
    if (!canvas || !source || typeof Chart === "undefined") return null;
    const colors = {
      text: themeColor("--body-quiet-color", "#666"),
      grid: themeColor("--hairline-color", "#e8e8e8"),
    };
    const config = configure(JSON.parse(source.textContent), colors);
    const chart = new Chart(canvas, {
      ...config,
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { color: colors.text, boxWidth: 12 } } },
        ...config.options,
      },
    });
    canvas.dataset.rendered = "true";
    return chart;
  }

  return { draw };
})();
