// The kiosk fetches a fresh QR image every half window, so the code shown is always valid.
"use strict";

(() => {
  const image = document.getElementById("kiosk-qr");
  if (!image) {
    return;
  }
  const seconds = Number(image.dataset.refresh) || 60;
  const reload = () => {
    image.src = `${image.dataset.src}?t=${Date.now()}`;
  };
  window.setInterval(reload, seconds * 1000);
})();
