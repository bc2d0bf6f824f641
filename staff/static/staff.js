// Staff web behaviour, loaded as a file (the Content-Security-Policy forbids inline script).
"use strict";

// Ask before a button marked data-confirm submits its form.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});

// For later features' fetch() calls: the CSRF token every state-changing request must carry.
window.staffCsrfToken = () => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
};
