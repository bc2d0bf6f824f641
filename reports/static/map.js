// The reports map: boundary, markers coloured by status (clustered), and the list beside it.
// Everything comes from this server: Leaflet and markercluster are vendored, tiles only
// when a tile URL is configured.
"use strict";

(function () {
  const box = document.getElementById("report-map");
  if (!box || !window.L) return;
  const config = JSON.parse(box.dataset.config);
  const map = L.map(box, { zoomControl: true, minZoom: 9, maxZoom: 19 });
  // A view first: the cluster layer needs one before it takes markers.
  map.fitBounds(config.bounds);
  if (config.tiles) {
    L.tileLayer(config.tiles, { maxZoom: 19, attribution: config.attribution }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  const clusters = L.markerClusterGroup({ maxClusterRadius: 40 });
  map.addLayer(clusters);

  fetch(config.boundary, { credentials: "same-origin" }).then((r) => r.json()).then((shape) => {
    const outline = L.geoJSON(shape, { style: { color: "#1a237e", weight: 2, fill: false } });
    outline.addTo(map);
  });

  function label(row) {
    const status = config.statuses[row.status] || row.status;
    return row.receipt + " · " + (config.categories[row.category] || row.category) + " · " +
      status + (row.overdue ? " · " + config.labels.overdue : "");
  }

  function link(row) {
    const a = document.createElement("a");
    a.href = config.detail.replace("{id}", row.id);
    a.textContent = row.receipt;
    return a;
  }

  function render(data) {
    clusters.clearLayers();
    // Rows are arrays (data.fields names their columns); coordinates come in millionths.
    const rows = data.reports.map((r) => Object.fromEntries(data.fields.map((f, i) => [f, r[i]])));
    const markers = rows.map((row) => {
      const marker = L.circleMarker([row.lat_e6 / 1e6, row.lon_e6 / 1e6], {
        radius: row.overdue ? 9 : 7, color: row.overdue ? "#000" : "#fff", weight: row.overdue ? 3 : 1,
        fillColor: config.colours[row.status] || "#333", fillOpacity: 0.9,
        className: "report-marker status-" + row.status,
      });
      marker.bindPopup(() => {
        const div = document.createElement("div");
        div.append(link(row), document.createTextNode(" " + label(row).split(" · ").slice(1).join(" · ")));
        return div;
      });
      return marker;
    });
    clusters.addLayers(markers);
    const body = document.getElementById("report-rows");
    body.replaceChildren(...rows.slice(0, 500).map((row) => {
      const tr = document.createElement("tr");
      if (row.overdue) tr.className = "overdue";
      const cells = [link(row), config.categories[row.category] || row.category,
        (config.statuses[row.status] || row.status) + (row.overdue ? " (" + config.labels.overdue + ")" : "")];
      for (const content of cells) {
        const td = document.createElement("td");
        td.append(content);
        tr.append(td);
      }
      return tr;
    }));
    document.getElementById("report-count").textContent =
      config.labels.count.replace("%(n)s", String(rows.length));
    box.dataset.markers = String(rows.length);
  }

  function load() {
    fetch(config.api + window.location.search, { credentials: "same-origin" })
      .then((r) => r.json()).then(render)
      .catch((error) => console.error("reports map:", error && error.stack ? error.stack : error));
  }
  load();
  if (config.refresh > 0) window.setInterval(load, config.refresh * 1000);
})();
