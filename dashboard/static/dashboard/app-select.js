// The header's app selector switches as soon as an app is chosen; the button is for no-JS use.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form#app-select");
  if (!form) return;
  form.querySelector("button").hidden = true;
  form.querySelector("select").addEventListener("change", () => form.submit());
});
