// The roster refreshes itself from /staff/api/checkin/<center>/roster (no inline script: CSP).
"use strict";

(() => {
  const table = document.getElementById("roster");
  if (!table) {
    return;
  }
  const body = table.querySelector("tbody");
  const summary = document.getElementById("roster-summary");
  const empty = document.getElementById("roster-empty");
  const seconds = Number(table.dataset.refresh) || 15;

  // Build elements with textContent only: names come from residents.
  const el = (tag, text, className) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  };

  const checkoutForm = (url) => {
    const form = el("form");
    form.method = "post";
    form.action = url;
    const token = el("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = window.staffCsrfToken();
    const button = el("button", table.dataset.checkoutLabel, "button button-small");
    button.type = "submit";
    button.dataset.confirm = table.dataset.confirmText;
    form.append(token, button);
    return form;
  };

  // Allergies and care notes: an icon and a text label, never colour alone.
  const careNote = (notes) => {
    const badge = el("span", undefined, "care-note");
    const icon = el("span", "⚠", "care-icon");
    icon.setAttribute("aria-hidden", "true");
    badge.append(icon, " ", el("span", table.dataset.careLabel, "care-label"), `: ${notes}`);
    return badge;
  };

  const childItem = (child) => {
    const item = el("li", `${child.name} (${child.age})`);
    if (child.care_notes) {
      item.append(" ", careNote(child.care_notes));
    }
    return item;
  };

  const row = (visit) => {
    const tr = el("tr");
    const guardian = el("td", visit.guardian);
    if (visit.walk_in) {
      guardian.append(" ", el("span", table.dataset.walkInLabel, "badge"));
    }
    const language = el("td", visit.language);
    if (visit.language_code) {
      language.lang = visit.language_code;
    }
    const list = el("ul", undefined, "inline");
    visit.children.forEach((child) => list.append(childItem(child)));
    const children = el("td");
    children.append(list);
    const since = el("td", `${visit.since} `);
    since.append(el("span", `(${visit.stay})`, "muted"));
    const action = el("td");
    action.append(checkoutForm(visit.checkout_url));
    tr.append(guardian, language, children, since, action);
    return tr;
  };

  const refresh = async () => {
    try {
      const response = await fetch(table.dataset.url, {headers: {Accept: "application/json"},
                                                       credentials: "same-origin"});
      if (!response.ok) return;
      const data = await response.json();
      body.replaceChildren(...data.visits.map(row));
      summary.textContent = data.summary;
      empty.hidden = data.visits.length > 0;
      table.dataset.updated = String(Date.now());
    } catch (error) {
      // A dropped connection: keep the last roster and try again at the next tick.
    }
  };

  window.setInterval(refresh, seconds * 1000);
})();
