// Reviewing a project's items: filter by state, class and labeler, and (classification) the items ML
// assist found likely mislabeled, each with what the model suggests; reject labels (the item goes back to
// the queue), send a skipped item back or take it out of the project, or set the label that counts; read
// an item's history (every change to its labels).
// Every decision carries the item's version: if it changed meanwhile, the page says what it is now.
// Region and span projects set the label that counts in the labeling tool's editor (review_editor.js).
import { api, ApiError, signedIn } from "./api.js";
import { editorFor } from "./editors.js";
import { ReviewEditor } from "./review_editor.js";

const projectId = Number(document.getElementById("review").dataset.projectId);
const $ = (id) => document.getElementById(id);
const ML_TASKS = /^(image|text)_classification_/; // the task types ML assist covers
const state = { project: null, multi: false, Editor: null, cursor: null, users: new Map() };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

function button(text, onClick, className = "secondary") {
  const node = element("button", text, className);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

// A label in a few words: its classes, or its shapes and spans counted by class.
function labelWords(label) {
  if (!label) return [];
  if (label.classes && !label.mask_png) return label.classes.map((name) => name ?? "(removed class)");
  if (label.mask_png !== undefined) return (label.classes || []).map((name) => `${name ?? "(removed class)"} (painted)`);
  const shapes = label.boxes || label.polygons || label.spans || [];
  const kind = label.boxes ? "box" : label.polygons ? "polygon" : "span";
  if (!shapes.length) return [`no ${kind}`];
  const counts = new Map();
  for (const shape of shapes) counts.set(shape.class ?? "(removed class)", (counts.get(shape.class ?? "(removed class)") || 0) + 1);
  return [...counts].map(([name, count]) => `${name} ×${count}`);
}

function chips(label) {
  const box = element("div", undefined, "chips");
  for (const words of labelWords(label)) box.append(element("span", words, "chip"));
  return box;
}

async function openEditor(card, item, label) {
  const holder = card.querySelector(".editor-box");
  if (card.reviewEditor) card.reviewEditor.close();
  const classes = state.project.label_classes.map((entry) => entry.name);
  card.reviewEditor = await ReviewEditor.open(holder, {
    Editor: state.Editor, item, classes, label,
    onSave: (payload) => decide(card, item, "set_label", payload),
  });
}

async function decide(card, item, action, label) {
  const message = card.querySelector(".card-message");
  message.textContent = "";
  try {
    const body = { action, version: item.version };
    if (label) body.label = label;
    const decided = await api("POST", `/api/items/${item.id}/review`, body);
    if (card.reviewEditor) card.reviewEditor.close();
    card.replaceWith(itemCard(decided, `Done: ${action.replace("_", " ")}.`));
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409 && failure.body && failure.body.details) {
      const now = await api("GET", `/api/items/${item.id}/review`);
      card.replaceWith(itemCard(now, `Not changed: the item changed since you loaded it; it is now ${now.state.replace("_", " ")}. Look again.`));
      return;
    }
    message.textContent = failure.message;
  }
}

function labelPicker(card, item) {
  const picker = element("div", undefined, "picker");
  const chosen = new Set((item.label && item.label.classes) || []);
  for (const labelClass of state.project.label_classes) {
    picker.append(button(labelClass.name, () => {
      if (!state.multi) {
        decide(card, item, "set_label", { classes: [labelClass.name] });
        return;
      }
      if (chosen.has(labelClass.name)) chosen.delete(labelClass.name);
      else chosen.add(labelClass.name);
      picker.querySelectorAll("button.class").forEach((node) => node.classList.toggle("on", chosen.has(node.textContent)));
    }, "secondary class"));
  }
  if (state.multi) picker.append(button("Save label", () => decide(card, item, "set_label", { classes: [...chosen] }), ""));
  return picker;
}

async function showLabels(card, item) {
  const full = await api("GET", `/api/items/${item.id}/review`);
  const list = element("ul", undefined, "annotations");
  for (const annotation of full.annotations) {
    const entry = element("li");
    entry.append(element("span", `${state.users.get(annotation.user_id) || `user ${annotation.user_id}`} (${annotation.status}): `));
    entry.append(...chips(annotation.label).childNodes);
    if (state.Editor && ["labeled", "needs_review"].includes(full.state)) {
      entry.append(button("Start from this", () => openEditor(card, full, annotation.label).catch(showCardError(card))));
    }
    list.append(entry);
  }
  if (!full.annotations.length) list.append(element("li", "no labels"));
  card.querySelector(".annotations-box").replaceChildren(list);
}

const HISTORY_PAGE = 50;
const DID = {
  submit: "submitted", change: "changed their label", skip: "skipped", reject: "rejected",
  accept_skip: "removed it from the project", set: "set the label that counts", import: "imported",
  start_over: "took it back (start over)",
};

// The item's audit history, oldest first: who did what to its labels, when, from what to what;
// HISTORY_PAGE changes at a time, the next ones behind a button.
async function showHistory(card, item) {
  const list = element("ol", undefined, "history");
  card.querySelector(".annotations-box").replaceChildren(list);
  const words = (label) => (label ? labelWords(label).join(", ") || "no class" : "—");
  const more = async (cursor) => {
    const page = await api("GET", `/api/items/${item.id}/history?limit=${HISTORY_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const event of page.items) {
      const who = event.username || (event.user_id ? `user ${event.user_id}` : "(deleted user)");
      const change = event.before || event.after ? `: ${words(event.before)} → ${words(event.after)}` : "";
      list.append(element("li", `${new Date(event.at).toLocaleString()} · ${who} ${DID[event.action] || event.action}${change}`));
    }
    if (!cursor && !page.items.length) list.append(element("li", "no changes yet"));
    if (page.next_cursor) {
      const later = element("li", undefined, "history-more");
      later.append(button("Show later changes", () => { later.remove(); more(page.next_cursor).catch(showCardError(card)); }));
      list.append(later);
    }
  };
  await more(null);
}

const showCardError = (card) => (failure) => { card.querySelector(".card-message").textContent = failure.message; };

// ML assist found the label likely wrong: what its model would say instead.
function suggestion(found) {
  const line = element("p", undefined, "ml-suggestion");
  const names = found.suggested.map((name) => name ?? "(removed class)");
  line.append(element("strong", "Possible label error"), ` — model suggests: ${names.length ? names.join(", ") : "no class"}`);
  line.append(element("span", ` (label quality ${found.label_quality.toFixed(2)}, model v${found.model_version})`, "muted"));
  return line;
}

function itemCard(item, note = "") {
  const card = element("article", undefined, "card review-card");
  card.dataset.itemId = item.id;
  card.dataset.state = item.state;
  if (state.project.media === "image") {
    const image = element("img");
    image.src = `/api/items/${item.id}/thumbnail`;
    image.alt = item.path;
    card.append(image);
  } else {
    card.append(element("div", item.text || "", "text-item"));
  }
  const facts = element("div", undefined, "facts");
  facts.append(element("strong", item.path), element("span", item.state.replace("_", " "), `state state-${item.state}`));
  if (item.label_source) facts.append(element("span", `${item.label_source}${item.agreement != null ? `, agreement ${Math.round(item.agreement * 100)}%` : ""}`, "muted"));
  card.append(facts, chips(item.label));
  if (item.possible_label_error) card.append(suggestion(item.possible_label_error));
  const actions = element("div", undefined, "toolbar");
  if (item.state === "skipped") {
    actions.append(button("Back to the queue", () => decide(card, item, "reject")));
    actions.append(button("Remove from project", () => decide(card, item, "accept_skip")));
  } else if (item.state === "labeled" || item.state === "needs_review") {
    actions.append(button("Reject", () => decide(card, item, "reject")));
  }
  if (["labeled", "needs_review", "skipped"].includes(item.state)) {
    actions.append(button("Set label…", () => {
      if (state.Editor) openEditor(card, item, item.label).catch(showCardError(card));
      else if (!card.querySelector(".picker")) actions.after(labelPicker(card, item));
    }));
  }
  actions.append(button("Labelers' labels", () => showLabels(card, item).catch(showCardError(card))));
  actions.append(button("History", () => showHistory(card, item).catch(showCardError(card))));
  card.append(actions, element("div", undefined, "annotations-box"), element("div", undefined, "editor-box"), element("p", note, "card-message"));
  return card;
}

function query() {
  const form = new FormData($("filters"));
  const parts = ["limit=50"];
  for (const name of ["state", "class_id", "labeler_id", "prelabel", "possible_label_error"]) if (form.get(name)) parts.push(`${name}=${encodeURIComponent(form.get(name))}`);
  for (const name of ["since", "until"]) { // local time in the form, with its zone on the wire
    if (form.get(name)) parts.push(`${name}=${encodeURIComponent(new Date(form.get(name)).toISOString())}`);
  }
  if (state.cursor) parts.push(`cursor=${state.cursor}`);
  return parts.join("&");
}

async function load(reset) {
  if (reset) {
    state.cursor = null;
    $("items").replaceChildren();
  }
  const page = await api("GET", `/api/projects/${projectId}/review/items?${query()}`);
  $("items").append(...page.items.map((item) => itemCard(item)));
  state.cursor = page.next_cursor;
  $("more").hidden = !state.cursor;
  $("empty").hidden = $("items").children.length > 0;
}

async function start() {
  if (!(await signedIn())) return;
  const [project, board] = await Promise.all([
    api("GET", `/api/projects/${projectId}`),
    api("GET", `/api/projects/${projectId}/dashboard`),
  ]);
  state.project = project;
  state.multi = project.task_type.endsWith("multilabel");
  state.Editor = await editorFor(project.task_type);
  $("project-name").textContent = project.name;
  const classes = document.querySelector("select[name=class_id]");
  for (const labelClass of project.label_classes) {
    const option = element("option", labelClass.name);
    option.value = labelClass.id;
    classes.append(option);
  }
  const labelers = document.querySelector("select[name=labeler_id]");
  for (const entry of board.labelers) {
    state.users.set(entry.user_id, entry.username);
    const option = element("option", entry.username);
    option.value = entry.user_id;
    labelers.append(option);
  }
  $("ml-filter").hidden = !ML_TASKS.test(project.task_type);
  const linked = new URLSearchParams(window.location.search); // the dashboard links to the flagged items
  if (!$("ml-filter").hidden && linked.get("possible_label_error") === "true") {
    document.querySelector("input[name=possible_label_error]").checked = true;
  }
  $("filters").addEventListener("change", (event) => {
    if (event.target.name !== "view") return;
    $("items").classList.toggle("as-list", event.target.value === "list");
    event.stopImmediatePropagation();
  });
  $("filters").addEventListener("change", () => load(true).catch((failure) => { $("error").textContent = failure.message; }));
  $("more").addEventListener("click", () => load(false).catch((failure) => { $("error").textContent = failure.message; }));
  await load(true);
}

start().catch((failure) => { $("error").textContent = failure.message; });
