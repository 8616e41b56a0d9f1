/* A list filter shown as a drop-down list (admin/events/select_filter.html): choosing an option
 * opens its address, as clicking a link of an ordinary filter does. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.select-filter")) {
    select.addEventListener("change", () => {
      window.location.href = select.value;
    });
  }
});
