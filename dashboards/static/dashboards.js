// Dashboards: fetch each chart's JSON (same filters as the page) and draw it with Plotly.
// A file, not inline script: the staff Content-Security-Policy allows only 'self'.
"use strict";

(() => {
  const column = (data, name) => {
    const index = data.columns.indexOf(name);
    return data.rows.map((row) => row[index]);
  };
  const unique = (values) => [...new Set(values)];

  // One trace per y column, or per value of a series column (e.g. application status).
  const lineOrBar = (data, plot) => {
    const type = plot.kind === "line" ? "scatter" : "bar";
    const base = { type, mode: "lines+markers" };
    if (plot.series) {
      const series = column(data, plot.series);
      return unique(series).map((name) => {
        const keep = data.rows.filter((_row, i) => series[i] === name);
        const sub = { columns: data.columns, rows: keep };
        return { ...base, name, x: column(sub, plot.x), y: column(sub, plot.y[0]) };
      });
    }
    const x = column(data, plot.x);
    return plot.y.map((y) => ({ ...base, name: data.labels[y] || y, x, y: column(data, y) }));
  };

  // Long rows (x, y, z) into a matrix; several rows per cell (forecast dates) are averaged.
  const heatmap = (data, plot) => {
    const xs = column(data, plot.x), ys = column(data, plot.y), zs = column(data, plot.z);
    // Every hour between the first and the last, so an hour nobody came is a column too.
    const xAxis = xs.length ? Array.from({ length: Math.max(...xs) - Math.min(...xs) + 1 },
                                         (_v, i) => Math.min(...xs) + i) : [];
    const yAxis = data.extra.y_order || unique(ys);
    const sums = yAxis.map(() => xAxis.map(() => 0));
    const counts = yAxis.map(() => xAxis.map(() => 0));
    zs.forEach((z, i) => {
      const r = yAxis.indexOf(ys[i]), c = xAxis.indexOf(xs[i]);
      sums[r][c] += z;
      counts[r][c] += 1;
    });
    const z = sums.map((row, r) => row.map((s, c) => (counts[r][c] ? s / counts[r][c] : 0)));
    return [{ type: "heatmap", x: xAxis, y: yAxis, z,
              colorscale: "YlOrRd", reversescale: true, hoverongaps: false }];
  };

  // The page's language: plotly-locale-ja.js registers Plotly's "ja" locale on Japanese pages.
  const japanese = document.documentElement.lang === "ja";

  // Date axes written the Japanese way (9月6日, 2026年9月); English keeps Plotly's own.
  // Months per month: Plotly would otherwise step by 30 days and label 10月31日.
  const dateAxis = (grain) => {
    const monthly = grain === "month" ? { dtick: "M1" } : {};
    if (!japanese) return monthly;
    if (grain === "month") return { ...monthly, tickformat: "%Y年%-m月", hoverformat: "%Y年%-m月" };
    return {
      tickformatstops: [
        { dtickrange: [null, "M1"], value: "%-m月%-d日" },
        { dtickrange: ["M1", "M12"], value: "%Y年%-m月" },
        { dtickrange: ["M12", null], value: "%Y年" },
      ],
      hoverformat: "%Y年%-m月%-d日",
    };
  };

  const xAxis = (data, plot) => {
    const axis = { title: { text: data.labels[plot.x] || "" }, automargin: true };
    if (plot.kind === "heatmap") return { ...axis, dtick: 1, ticksuffix: japanese ? "時" : ":00" };
    return plot.dates ? { ...axis, type: "date", ...dateAxis(data.filters.grain) } : axis;
  };

  const draw = (element, data) => {
    const plot = data.plot;
    const traces = plot.kind === "heatmap" ? heatmap(data, plot) : lineOrBar(data, plot);
    const layout = {
      margin: { t: 24, r: 16, b: 56, l: 64 }, legend: { orientation: "h" },
      barmode: plot.stack ? "stack" : "group",
      height: element.clientHeight - 8,
      xaxis: xAxis(data, plot),
      yaxis: plot.kind === "heatmap" ? { autorange: "reversed", automargin: true } : { rangemode: "tozero" },
    };
    window.Plotly.newPlot(element, traces, layout,
                          { responsive: true, displaylogo: false, locale: japanese ? "ja" : "en" });
    element.classList.add("loaded");
  };

  const fillTable = (table, data) => {
    if (!table) return;
    const head = document.createElement("tr");
    data.columns.forEach((name) => {
      const th = document.createElement("th");
      th.textContent = data.labels[name] || name;
      head.appendChild(th);
    });
    table.tHead.replaceChildren(head);
    const body = data.rows.map((row) => {
      const tr = document.createElement("tr");
      row.forEach((value) => {
        const td = document.createElement("td");
        td.textContent = value === null ? "" : value;
        if (typeof value === "number") td.className = "num";
        tr.appendChild(td);
      });
      return tr;
    });
    table.tBodies[0].replaceChildren(...body);
  };

  const fillExtras = (data) => {
    const evaluation = data.extra.evaluation || {};
    document.querySelectorAll("[data-extra]").forEach((element) => {
      const value = evaluation[element.dataset.extra];
      element.textContent = value === undefined ? "—" : value;
    });
  };

  const load = async (element) => {
    const response = await fetch(element.dataset.endpoint + window.location.search,
                                 { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) {
      element.textContent = element.dataset.error;
      element.classList.add("empty");
      return;
    }
    const data = await response.json();
    fillTable(document.getElementById(element.dataset.table), data);
    fillExtras(data);
    if (!data.rows.length) {
      element.textContent = element.dataset.empty;
      element.classList.add("empty");
      return;
    }
    draw(element, data);
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-chart]").forEach((element) => { load(element); });
  });
})();
