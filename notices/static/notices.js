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
