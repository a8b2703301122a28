"use strict";
// The export page's "Select all": ticks or clears every field of the export. Bound here,
// not by an inline handler, which the Content Security Policy (script-src 'self') blocks.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.getElementById("select-all-toggle");
  if (!toggle) {
    return;
  }
  toggle.addEventListener("change", () => {
    document
      .querySelectorAll('.selectable-field-export-row input[type="checkbox"]')
      .forEach((checkbox) => {
        checkbox.checked = toggle.checked;
      });
  });
});
