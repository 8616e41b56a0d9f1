/* The contact page's "Send test event" form: "Add a param" appends a row of the params formset
 * (Django's empty form, its __prefix__ replaced by the next index, TOTAL_FORMS counted up). */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("add-param-row");
  const template = document.getElementById("param-row-template");
  const total = document.getElementById("id_param-TOTAL_FORMS");
  if (!button || !template || !total) return;
  const rows = button.closest("form").querySelector(".param-rows tbody");
  button.addEventListener("click", () => {
    const index = Number(total.value);
    const row = document.createElement("tbody");
    row.innerHTML = template.innerHTML.replaceAll("__prefix__", String(index));
    const added = row.firstElementChild;
    rows.append(added);
    total.value = String(index + 1);
    added.querySelector("input").focus();
  });
});
