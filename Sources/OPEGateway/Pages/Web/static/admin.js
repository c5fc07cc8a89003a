"use strict";
// The admin page works with plain forms; this only reads a chosen CSV file into the text box.
(() => {
  const file = document.getElementById("import-file");
  const text = document.getElementById("import-csv");
  if (!file || !text) return;
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (chosen) text.value = await chosen.text();
  });
})();
