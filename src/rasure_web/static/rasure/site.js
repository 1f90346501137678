// Small behaviours for server-rendered pages, wired by data attributes (the CSP allows no inline
// script or on* handlers): forms that submit when a select changes, and Print buttons.
document.querySelectorAll("select[data-autosubmit]").forEach((s) => {
  s.addEventListener("change", () => s.form.submit());
});
document.querySelectorAll("[data-print]").forEach((b) => {
  b.hidden = false;
  b.addEventListener("click", () => window.print());
});
