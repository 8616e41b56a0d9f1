/* Rows of name, type and value (templates/admin/typed_rows.html). "Add a …" appends a row: the
 * formset's empty form, its __prefix__ replaced by the next index, TOTAL_FORMS counted up.
 * "Remove" ticks the row's DELETE box, which the server reads, and hides the row; without this
 * script the blank rows and the visible boxes do the same. */
"use strict";

function hideWhenRemoved(row) {
  const box = row.querySelector(".typed-row-remove input[type=checkbox]");
  if (!box) return;
  box.addEventListener("change", () => {
    row.hidden = box.checked;
  });
  row.hidden = box.checked;
}

function setUpTypedRows(container) {
  const prefix = container.dataset.prefix;
  const total = container.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const template = container.querySelector("template.typed-row-template");
  const button = container.querySelector(".typed-rows-add");
  const body = container.querySelector(".typed-rows-table tbody");
  container.classList.add("scripted");
  body.querySelectorAll(".typed-row").forEach(hideWhenRemoved);
  button.hidden = false;
  button.addEventListener("click", () => {
    const index = Number(total.value);
    const holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.replaceAll("__prefix__", String(index));
    const added = holder.querySelector(".typed-row");
    body.append(added);
    hideWhenRemoved(added);
    total.value = String(index + 1);
    added.querySelector("input").focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".typed-rows").forEach(setUpTypedRows);
});
