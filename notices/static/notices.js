// Refresh a notice's delivery figures while the worker sends it.
(function () {
  "use strict";
  const box = document.getElementById("figures");
  if (!box) { return; }
  async function refresh() {
    try {
      const response = await fetch(box.dataset.url, {headers: {"Accept": "application/json"}});
      if (!response.ok) { return; }
      const data = await response.json();
      box.querySelectorAll("[data-figure]").forEach(function (cell) {
        const value = data[cell.dataset.figure];
        if (value !== undefined && cell.textContent !== String(value)) { cell.textContent = value; }
      });
    } catch (err) { /* offline for a moment: the next tick tries again */ }
  }
  setInterval(refresh, 5000);
}());

// Compose and reminders: a language's summary says "written" or marks "gets Japanese" as the
// staff member types (the page says the same on load, without script).
(function () {
  "use strict";
  document.querySelectorAll("details.language-text").forEach(function (box) {
    const body = box.querySelector("textarea");
    const written = box.querySelector("[data-state=written]");
    const missing = box.querySelector("[data-state=missing]");
    if (!body || !written || !missing) { return; }
    body.addEventListener("input", function () {
      const has = body.value.trim() !== "";
      written.hidden = !has;
      missing.hidden = has;
    });
  });
}());
