// An import's page while it runs: reads the job's status each second and moves the progress bar
// and the counts; when the job ends, reloads the page, which then lists the rejected rows.
document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("import-job");
  if (!section || section.dataset.finished === "true") return;
  const numbers = new Intl.NumberFormat();
  const show = (id, value) => {
    const element = document.getElementById(id);
    if (element) element.textContent = numbers.format(value);
  };

  const poll = async () => {
    const response = await fetch(section.dataset.statusUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`import status: HTTP ${response.status}`);
    const status = await response.json();
    document.getElementById("import-progress").value = status.percent;
    document.getElementById("import-percent").textContent = `${status.percent}%`;
    const label = document.getElementById("import-status");
    label.textContent = status.status_label;
    label.dataset.status = status.status;
    show("import-rows-done", status.rows_done);
    show("import-rows-total", status.rows_total);
    show("import-rows-stored", status.rows_stored);
    show("import-rows-duplicate", status.rows_duplicate);
    show("import-rows-rejected", status.rows_rejected);
    return status.finished;
  };

  const tick = async () => {
    let finished = false;
    try {
      finished = await poll();
    } catch (error) {
      console.warn(error); // a missed reading: the next one catches up
    }
    if (finished) window.location.reload();
    else window.setTimeout(tick, 1000);
  };
  window.setTimeout(tick, 1000);
});
