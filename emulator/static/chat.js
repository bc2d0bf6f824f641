// Chat page of the LINE emulator: acts as the LINE app for one test user at a time.
"use strict";

const state = {
  userId: null, since: 0, entries: [], users: {}, polling: null, pickerAction: null,
  queue: Promise.resolve(), menu: null, menuOpen: false, stickToBottom: true, scanTargets: null,
};

function $(id) { return document.getElementById(id); }

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function api(path, options) {
  const response = await fetch("/_emulator" + path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || response.statusText);
  return data;
}

function postJson(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

function showStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

function reportWebhook(result) {
  if (result.error || result.status === null) {
    showStatus("Webhook failed: " + (result.error || "no answer"), true);
  } else {
    showStatus("Webhook answered " + result.status + " in " + Math.round(result.elapsedMs) + " ms", result.status >= 400);
  }
}

// Users

async function loadUsers(selectId) {
  const data = await api("/users");
  const select = $("user-select");
  select.replaceChildren();
  state.users = {};
  for (const user of data.users) {
    state.users[user.userId] = user;
    const option = el("option", null, user.displayName + (user.blocked ? " (blocked)" : "") + " · " + user.language);
    option.value = user.userId;
    select.append(option);
  }
  const wanted = selectId || state.userId || (data.users[0] && data.users[0].userId);
  if (wanted) { select.value = wanted; switchUser(wanted); }
}

function switchUser(userId) {
  if (userId === state.userId) return;
  state.userId = userId;
  state.since = 0;
  state.entries = [];
  state.menu = null;
  renderRichMenu(null);
  $("transcript").replaceChildren();
  renderQuickReplies();
  poll();
}

async function createUser(event) {
  event.preventDefault();
  const form = event.target;
  const user = await postJson("/users", { displayName: form.displayName.value, language: form.language.value });
  if (form.follow.checked) reportWebhook(await postJson("/events/follow", { userId: user.userId }));
  form.reset();
  form.closest("details").open = false;
  await loadUsers(user.userId);
}

// Sending as the user: the emulator keeps both sides, so the page only shows what it serves.

async function sendEvent(path, body) {
  if (!state.userId) { showStatus("Create or choose a user first", true); return null; }
  try {
    const result = await postJson(path, Object.assign({ userId: state.userId }, body));
    reportWebhook(result);
    await poll();
    return result;
  } catch (error) {
    showStatus(error.message, true);
    return null;
  }
}

function sendText(text) {
  if (text) sendEvent("/events/text", { text: text });
}

function sendPostback(action, params) {
  const body = { data: action.data };
  if (action.displayText) body.displayText = action.displayText;
  if (params) body.params = params;
  applyInputOption(action);
  sendEvent("/events/postback", body);
}

// A postback may ask the app to open or close the menu, or to open the keyboard with text.
function applyInputOption(action) {
  if (action.inputOption === "closeRichMenu") setMenuOpen(false);
  if (action.inputOption === "openRichMenu") setMenuOpen(true);
  if (action.inputOption === "openKeyboard" || action.inputOption === "openVoice") {
    setMenuOpen(false);
    if (action.fillInText) $("text").value = action.fillInText;
    $("text").focus();
  }
}

async function switchRichMenu(action) {
  const result = await sendEvent("/events/richmenuswitch", { richMenuAliasId: action.richMenuAliasId, data: action.data });
  if (result) await loadRichMenu();
}

// Actions (buttons, quick replies, flex components)

const actionHandlers = {
  postback: (action) => sendPostback(action),
  message: (action) => sendText(action.text),
  uri: (action) => window.open(action.uri, "_blank", "noopener"),
  datetimepicker: (action) => openPicker(action),
  camera: () => openTools("photo-file"),
  cameraRoll: () => openTools("photo-file"),
  location: () => openTools("location-form"),
  clipboard: (action) => navigator.clipboard && navigator.clipboard.writeText(action.clipboardText),
  richmenuswitch: (action) => switchRichMenu(action),
};

function runAction(action) {
  const handler = action && actionHandlers[action.type];
  if (handler) handler(action); else showStatus("Unsupported action: " + (action && action.type), true);
}

function actionButton(action, className) {
  const button = el("button", className, action.label || action.type);
  button.type = "button";
  button.addEventListener("click", () => runAction(action));
  return button;
}

function openTools(targetId) {
  $("tools").open = true;
  $(targetId).scrollIntoView();
  if (targetId === "photo-file") $(targetId).click();
}

const pickerTypes = { date: "date", time: "time", datetime: "datetime-local" };

function openPicker(action) {
  state.pickerAction = action;
  const input = $("picker-input");
  input.type = pickerTypes[action.mode] || "date";
  input.value = action.initial || "";
  input.min = action.min || "";
  input.max = action.max || "";
  $("picker-label").textContent = action.label || action.mode;
  $("picker").hidden = false;
  input.focus();
}

function confirmPicker() {
  const action = state.pickerAction;
  const value = $("picker-input").value;
  if (!action || !value) return;
  $("picker").hidden = true;
  state.pickerAction = null;
  sendPostback(action, { [action.mode]: value });
}

// Rendering the bot's messages

function renderText(message) { return el("div", "bubble", message.text); }

function renderImage(message) {
  const img = el("img", "bubble picture");
  img.src = message.previewImageUrl || message.originalContentUrl || message.contentUrl;
  img.alt = "image";
  // The image's height is known only once it loads: follow the newest message again then.
  img.addEventListener("load", () => { if (state.stickToBottom) scrollToNewest(); });
  return img;
}

function renderLocation(message) {
  const card = el("div", "card");
  card.append(el("div", "card-title", "📍 " + (message.title || "Location")));
  card.append(el("div", "card-text", (message.address || "") + "\n" + message.latitude + ", " + message.longitude));
  return card;
}

function renderPlaceholder(message) {
  const label = message.type === "sticker" ? "sticker " + message.packageId + "/" + message.stickerId : message.type;
  return el("div", "bubble note", "[" + label + "] " + (message.altText || ""));
}

function buttonsCard(column, confirm) {
  const card = el("div", "card");
  if (column.thumbnailImageUrl || column.imageUrl) card.append(el("div", "placeholder", "image"));
  if (column.title) card.append(el("div", "card-title", column.title));
  if (column.text) card.append(el("div", "card-text", column.text));
  const actions = el("div", confirm ? "actions confirm" : "actions");
  for (const action of column.actions || (column.action ? [column.action] : [])) actions.append(actionButton(action));
  card.append(actions);
  return card;
}

function renderTemplate(message) {
  const template = message.template;
  if (template.type === "buttons") return buttonsCard(template, false);
  if (template.type === "confirm") return buttonsCard(template, true);
  const carousel = el("div", "carousel");
  for (const column of template.columns || []) carousel.append(buttonsCard(column, false));
  return carousel;
}

// Flex: boxes, texts, separators and buttons, laid out as LINE does, readable and reachable
// by keyboard. A tappable part that is not a button becomes one for the keyboard.

function flexComponent(component, layout) {
  const render = flexRenderers[component.type];
  const node = render ? render(component) : el("span", "flex-unknown", "[" + component.type + "]");
  if (component.flex !== undefined && layout === "horizontal") node.style.flex = String(component.flex);
  if (component.margin && component.margin !== "none") node.classList.add("flex-margin-" + component.margin);
  if (component.gravity) node.classList.add("flex-gravity-" + component.gravity);
  if (component.action && component.type !== "button") makeTappable(node, component.action);
  return node;
}

function makeTappable(node, action) {
  node.classList.add("clickable");
  node.tabIndex = 0;
  node.setAttribute("role", action.type === "uri" ? "link" : "button");
  if (action.label) node.setAttribute("aria-label", action.label);
  node.addEventListener("click", () => runAction(action));
  node.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    runAction(action);
  });
}

let flexIds = 0;

// A button beside texts (a "Change" button on a summary row) is described by those texts, so a
// screen reader says which answer it changes.
function describeButtons(box) {
  const buttons = Array.from(box.children).filter((child) => child.tagName === "BUTTON");
  const others = Array.from(box.children).filter((child) => child.tagName !== "BUTTON");
  if (!buttons.length || !others.length) return;
  const ids = others.map((other) => { other.id = other.id || "flex-" + (++flexIds); return other.id; });
  for (const button of buttons) button.setAttribute("aria-describedby", ids.join(" "));
}

const flexRenderers = {
  box: (box) => {
    const layout = box.layout || "vertical";
    const node = el("div", "flex-box " + layout);
    if (box.spacing && box.spacing !== "none") node.classList.add("flex-spacing-" + box.spacing);
    if (box.backgroundColor) node.style.backgroundColor = box.backgroundColor;
    for (const child of box.contents || []) node.append(flexComponent(child, layout));
    describeButtons(node);
    return node;
  },
  text: (text) => {
    const node = el("div", ["flex-text", text.weight, text.size && "size-" + text.size].filter(Boolean).join(" "));
    node.textContent = text.contents ? text.contents.map((span) => span.text || "").join("") : text.text;
    if (text.color) node.style.color = text.color;
    if (text.wrap === false) node.classList.add("nowrap");
    return node;
  },
  span: (span) => el("span", null, span.text),
  image: (image) => {
    const img = el("img", "flex-image");
    img.src = image.url;
    img.alt = (image.action && image.action.label) || "";
    return img;
  },
  video: () => el("div", "placeholder", "video"),
  icon: () => el("span", "flex-icon", "•"),
  button: (button) => {
    const node = actionButton(button.action, "flex-button " + (button.style || "link"));
    if (button.height === "sm") node.classList.add("small");
    if (button.color && button.style === "primary") node.style.backgroundColor = button.color;
    return node;
  },
  separator: () => el("hr", "flex-separator"),
  filler: () => el("div", "flex-filler"),
};

const BLOCKS = ["header", "hero", "body", "footer"];

function flexBubble(bubble, altText) {
  const card = el("article", "card flex-bubble");
  // The alternative text is the card's accessible name, as a screen reader would say it.
  card.setAttribute("aria-label", altText);
  for (const part of BLOCKS) {
    if (!bubble[part]) continue;
    const section = el("div", "flex-section " + part);
    const style = (bubble.styles || {})[part];
    if (style && style.backgroundColor) section.style.backgroundColor = style.backgroundColor;
    if (bubble[part].backgroundColor) section.style.backgroundColor = bubble[part].backgroundColor;
    section.append(flexComponent(bubble[part], "vertical"));
    card.append(section);
  }
  return card;
}

function renderFlex(message) {
  const contents = message.contents;
  if (contents.type === "bubble") return flexBubble(contents, message.altText);
  const carousel = el("div", "carousel");
  carousel.setAttribute("role", "group");
  carousel.setAttribute("aria-label", message.altText);
  carousel.tabIndex = 0;  // a scroll box is reachable by keyboard
  const count = (contents.contents || []).length;
  (contents.contents || []).forEach((bubble, i) => {
    carousel.append(flexBubble(bubble, (i + 1) + " / " + count + ": " + message.altText));
  });
  return carousel;
}

const messageRenderers = {
  text: renderText, textV2: renderText, image: renderImage, location: renderLocation,
  template: renderTemplate, flex: renderFlex,
};

function renderMessage(message) {
  const render = messageRenderers[message.type] || renderPlaceholder;
  try { return render(message); } catch (error) { return el("div", "bubble note", "[cannot show " + message.type + "]"); }
}

function renderEntry(entry) {
  const row = el("div", "row " + entry.side);
  row.append(renderMessage(entry.message));
  const time = new Date(entry.at * 1000).toLocaleTimeString();
  row.append(el("div", "meta", entry.side === "bot" ? entry.via + " · " + time : time));
  return row;
}

function renderQuickReplies() {
  const bar = $("quick-replies");
  bar.replaceChildren();
  const last = state.entries[state.entries.length - 1];
  const items = last && last.side === "bot" && last.message.quickReply ? last.message.quickReply.items : [];
  for (const item of items) bar.append(actionButton(item.action));
}

function scrollToNewest() {
  const transcript = $("transcript");
  transcript.scrollTop = transcript.scrollHeight;
  state.stickToBottom = true;
}

function appendEntries(entries) {
  const transcript = $("transcript");
  for (const entry of entries) {
    state.entries.push(entry);
    transcript.append(renderEntry(entry));
  }
  renderQuickReplies();
  scrollToNewest();
}

// Conversation updates come one at a time, so no entry is fetched twice.
function poll() {
  state.queue = state.queue.then(pollOnce, pollOnce);
  return state.queue;
}

async function pollOnce() {
  const userId = state.userId;
  if (!userId) return;
  const data = await api("/conversation/" + encodeURIComponent(userId) + "?since=" + state.since);
  if (userId !== state.userId) return;
  if (data.next > state.since) {
    state.since = data.next;
    appendEntries(data.entries);
  }
  await loadRichMenu();
}

// The rich menu: the user's linked menu, else the default, as LINE shows it under the input.

function areaLabel(action) {
  return action.label || action.displayText || action.text || action.data || action.uri || action.type;
}

function percent(part, whole) { return (100 * part / whole) + "%"; }

function renderRichMenu(menu) {
  const section = $("rich-menu");
  const panel = $("rich-menu-panel");
  section.hidden = !menu;
  if (!menu) return;
  const size = menu.size;
  panel.style.aspectRatio = size.width + " / " + size.height;
  panel.setAttribute("aria-label", menu.chatBarText);
  $("rich-menu-image").src = menu.imageUrl;
  panel.querySelectorAll(".area").forEach((node) => node.remove());
  for (const area of menu.areas) {
    const button = el("button", "area");
    button.type = "button";
    button.setAttribute("aria-label", areaLabel(area.action));
    button.title = areaLabel(area.action);
    const bounds = area.bounds;
    Object.assign(button.style, {
      left: percent(bounds.x, size.width), top: percent(bounds.y, size.height),
      width: percent(bounds.width, size.width), height: percent(bounds.height, size.height),
    });
    button.addEventListener("click", () => runAction(area.action));
    panel.append(button);
  }
}

function setMenuOpen(open) {
  state.menuOpen = Boolean(open);
  $("rich-menu-panel").hidden = !state.menuOpen;
  const bar = $("rich-menu-bar");
  bar.setAttribute("aria-expanded", String(state.menuOpen));
  bar.textContent = (state.menu ? state.menu.chatBarText : "") + (state.menuOpen ? " ▼" : " ▲");
  if (state.stickToBottom) scrollToNewest();
}

async function loadRichMenu() {
  const userId = state.userId;
  if (!userId) return;
  const data = await api("/richmenu/" + encodeURIComponent(userId));
  if (userId !== state.userId) return;
  const menu = data.richMenu;
  const before = state.menu;
  if ((before && before.richMenuId) === (menu && menu.richMenuId)) return;
  state.menu = menu;
  renderRichMenu(menu);
  // A menu that appears opens if it says "selected"; a switched menu keeps the panel as it was.
  if (menu) setMenuOpen(before ? state.menuOpen : menu.selected);
}

// Tools: location, photo, QR scan

function sendLocation(event) {
  event.preventDefault();
  const form = event.target;
  const body = { latitude: Number(form.latitude.value), longitude: Number(form.longitude.value), address: form.address.value };
  sendEvent("/events/location", body);
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",")[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function sendPhoto(event) {
  event.preventDefault();
  const file = $("photo-file").files[0];
  if (!file) { showStatus("Choose a photo first", true); return; }
  const content = await readBase64(file);
  sendEvent("/events/image", { contentBase64: content, contentType: file.type || "image/jpeg" });
}

async function scanQr(event) {
  event.preventDefault();
  if (!state.userId) { showStatus("Create or choose a user first", true); return; }
  const file = $("scan-file").files[0];
  const url = $("scan-url").value;
  try {
    const result = file ? await scanFile(file) : await postJson("/scan", { userId: state.userId, url: url });
    showScan(result);
  } catch (error) {
    showStatus("Scan failed: " + error.message, true);
  }
}

async function scanFile(file) {
  const form = new FormData();
  form.append("userId", state.userId);
  form.append("image", file);
  return api("/scan", { method: "POST", body: form });
}

async function showScan(result) {
  if (!result.decoded) { showStatus("No QR code found in the image", true); return; }
  if (!result.sent) { showStatus("QR code says: " + result.decoded); return; }
  reportWebhook(result.result);
  await poll();
}

// The scan menu: codes the emulator was told about (posters, kiosks), scanned with one click.

async function loadScanTargets() {
  const data = await api("/scan-targets");
  const list = $("scan-targets");
  const listed = JSON.stringify(data.targets);
  // Rebuilding an unchanged list would take the keyboard focus away from its buttons.
  if (listed === state.scanTargets) return;
  state.scanTargets = listed;
  list.replaceChildren();
  for (const target of data.targets) {
    const item = el("li");
    const button = el("button", "scan-target", target.label);
    button.type = "button";
    button.addEventListener("click", () => scanTarget(target));
    item.append(button);
    list.append(item);
  }
  $("scan-empty").hidden = data.targets.length > 0;
}

async function scanTarget(target) {
  if (!state.userId) { showStatus("Create or choose a user first", true); return; }
  $("scan-menu").open = false;
  try {
    // By id when the target has one: the emulator sends the code it holds now (a kiosk code
    // rotates while the menu stays open).
    const code = target.id ? { target: target.id } : { text: target.text };
    showScan(await postJson("/scan", Object.assign({ userId: state.userId }, code)));
  } catch (error) {
    showStatus("Scan failed: " + error.message, true);
  }
}

// Wiring

async function follow(unblocked) {
  await sendEvent("/events/follow", { isUnblocked: unblocked });
  await loadUsers(state.userId);
}

async function block() {
  await sendEvent("/events/unfollow", {});
  await loadUsers(state.userId);
}

function start() {
  $("user-select").addEventListener("change", (event) => switchUser(event.target.value));
  $("new-user-form").addEventListener("submit", createUser);
  // LINE marks a follow after a block as an unblock.
  $("follow").addEventListener("click", () => follow(Boolean(state.users[state.userId] && state.users[state.userId].blocked)));
  $("unfollow").addEventListener("click", block);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text");
    sendText(input.value.trim());
    input.value = "";
  });
  $("picker-ok").addEventListener("click", confirmPicker);
  $("picker-cancel").addEventListener("click", () => { $("picker").hidden = true; });
  $("location-form").addEventListener("submit", sendLocation);
  $("photo-form").addEventListener("submit", sendPhoto);
  $("scan-form").addEventListener("submit", scanQr);
  $("scan-menu").addEventListener("toggle", () => {
    if ($("scan-menu").open) loadScanTargets().catch((error) => showStatus(error.message, true));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !$("scan-menu").open) return;
    $("scan-menu").open = false;
    $("scan-menu").querySelector("summary").focus();
  });
  $("rich-menu-bar").addEventListener("click", () => setMenuOpen(!state.menuOpen));
  const transcript = $("transcript");
  // Someone reading older messages is not pulled down by a resize, only by a new message.
  transcript.addEventListener("scroll", () => {
    state.stickToBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 8;
  });
  new ResizeObserver(() => { if (state.stickToBottom) scrollToNewest(); }).observe(transcript);
  loadUsers().catch((error) => showStatus(error.message, true));
  state.polling = setInterval(() => poll().catch((error) => showStatus(error.message, true)), 1000);
}

document.addEventListener("DOMContentLoaded", start);
