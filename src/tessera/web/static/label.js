// The labeling tool for classification (images and text): instructions first, then pages of 1–9 items.
// Keyboard: 1–9 give the selected items the label of that key (multi-label: toggle it); Ctrl+A selects
// every waiting item; ←/→ move the selection; Ctrl+Z / Ctrl+Y undo and redo; S skips the selected items;
// Enter submits and brings the next page. Labels not yet sent are kept in localStorage per task, so a
// reload or a dropped connection loses nothing; a submit that fails on the network is retried.
import { api, ApiError, signedIn } from "./api.js";
import { BoxEditor } from "./box_editor.js";

const CLASSIFICATION = new Set([
  "image_classification_multiclass", "image_classification_multilabel",
  "text_classification_multiclass", "text_classification_multilabel",
]);
const BOXES = "object_detection";
const PALETTE = ["#cf222e", "#0969da", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#bc4c00", "#6e7781", "#d1242f"];
const RETRY_MS = 3000;
const root = document.getElementById("tool");
const projectId = Number(root.dataset.projectId);
const $ = (id) => document.getElementById(id);

const state = {
  project: null, multi: false, boxes: false, editor: null, task: null, labels: new Map(), selected: new Set(),
  undo: [], redo: [], key: null, sending: false,
};

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

function showError(failure) {
  $("error").textContent = failure ? failure.message : "";
}

const draftKey = () => `tessera-draft-${state.task.id}`;

function saveDraft() {
  const draft = { labels: [...state.labels], key: state.key };
  localStorage.setItem(draftKey(), JSON.stringify(draft));
}

function loadDraft() {
  const saved = JSON.parse(localStorage.getItem(draftKey()) || "null");
  state.labels = new Map(saved ? saved.labels : []);
  state.key = saved ? saved.key : null;
}

function waiting() {
  return state.task.items.filter((item) => item.outcome === "pending");
}

function classNames() {
  return state.project.label_classes.map((labelClass) => labelClass.name);
}

function change(itemIds, apply) {
  const before = itemIds.map((id) => [id, state.labels.get(id) || []]);
  for (const id of itemIds) {
    const next = apply(state.labels.get(id) || []);
    if (next.length) state.labels.set(id, next);
    else state.labels.delete(id);
  }
  state.undo.push(before);
  state.redo = [];
  saveDraft();
  render();
}

function restore(from, to) {
  const step = from.pop();
  if (!step) return;
  to.push(step.map(([id]) => [id, state.labels.get(id) || []]));
  for (const [id, labels] of step) {
    if (labels.length) state.labels.set(id, labels);
    else state.labels.delete(id);
  }
  saveDraft();
  render();
  if (state.editor) state.editor.set(state.labels.get(state.editor.itemId) || []);
}

function giveLabel(index) {
  const name = classNames()[index];
  if (state.boxes) {
    if (name && state.editor) state.editor.chooseClass(name);
    markClass(name);
    return;
  }
  const ids = [...state.selected];
  if (!name || !ids.length) return;
  change(ids, (labels) => {
    if (!state.multi) return [name];
    return labels.includes(name) ? labels.filter((other) => other !== name) : [...labels, name];
  });
  if (!state.multi && ids.length === 1) moveSelection(1, true);
}

function moveSelection(step, toUnlabeled = false) {
  const items = waiting();
  if (!items.length) return;
  const current = items.findIndex((item) => state.selected.has(item.id));
  let index = current;
  for (let tries = 0; tries < items.length; tries += 1) {
    index = (index + step + items.length) % items.length;
    if (!toUnlabeled || !state.labels.has(items[index].id)) break;
  }
  if (toUnlabeled && state.labels.has(items[index].id)) return; // every item is labeled: stay
  state.selected = new Set([items[index].id]);
  render();
}

function tile(item) {
  const node = element("div", undefined, "tile");
  node.dataset.itemId = item.id;
  node.tabIndex = 0;
  const pending = item.outcome === "pending";
  if (!pending) node.classList.add("finished");
  if (state.selected.has(item.id)) node.classList.add("selected");
  if (state.project.media === "image") {
    const image = element("img");
    image.src = `/api/items/${item.id}/thumbnail`;
    image.alt = item.path;
    image.loading = "eager";
    node.append(image);
  } else {
    node.append(element("div", item.text || "", "text-item"));
  }
  const labels = pending ? state.labels.get(item.id) || [] : (item.label ? item.label.classes : []);
  const chips = element("div", undefined, "chips");
  for (const name of labels) chips.append(element("span", name, "chip"));
  if (!pending) chips.append(element("span", item.outcome, "chip muted-chip"));
  else if (!labels.length && item.prelabel) {
    for (const name of item.prelabel.classes || []) chips.append(element("span", `${name}?`, "chip suggested"));
  }
  node.append(chips);
  node.addEventListener("click", (event) => {
    if (!pending) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey) {
      if (state.selected.has(item.id)) state.selected.delete(item.id);
      else state.selected.add(item.id);
    } else {
      state.selected = new Set([item.id]);
    }
    render();
  });
  return node;
}

function markClass(name) {
  document.querySelectorAll("#classes li").forEach((entry) => entry.classList.toggle("current", entry.dataset.name === name));
}

function boxesFor(item) {
  const stage = element("div", undefined, "editor");
  const picture = new Image();
  picture.onload = () => {
    state.editor = new BoxEditor(stage, {
      src: picture.src, width: picture.naturalWidth, height: picture.naturalHeight, classes: classNames(),
      colors: new Map(classNames().map((name, index) => [name, PALETTE[index % PALETTE.length]])),
      onChange: (boxes) => change([item.id], () => boxes),
    });
    state.editor.itemId = item.id;
    state.editor.set(state.labels.get(item.id) || []);
    markClass(state.editor.currentClass);
  };
  picture.src = `/api/items/${item.id}/content`;
  return stage;
}

function render() {
  const task = state.task;
  if (state.boxes) {
    const item = waiting()[0];
    const boxes = item ? (state.labels.get(item.id) || []).length : 0;
    if (item && (!state.editor || state.editor.itemId !== item.id) && !$("grid").querySelector(`[data-item-id='${item.id}']`)) {
      const holder = element("div", undefined, "tile single");
      holder.dataset.itemId = item.id;
      holder.append(boxesFor(item), element("div", item.path, "muted"));
      $("grid").dataset.size = "1";
      $("grid").replaceChildren(holder);
    }
    $("hint").hidden = true;
    $("kind").textContent = "Drag to draw a box; click a box to select it, drag to move, corners to resize.";
    $("submit").disabled = state.sending || !item;
    $("undo").disabled = state.undo.length === 0;
    $("redo").disabled = state.redo.length === 0;
    if (!state.sending) $("status").textContent = `${boxes} box${boxes === 1 ? "" : "es"} · Enter submits (none: "no object")`;
    return;
  }
  const size = task.items.length;
  $("kind").textContent = `${task.kind === "clustered" ? "Similar items · " : ""}${task.kind === "prelabeled" ? "Suggested labels to confirm or correct · " : ""}page of ${size}`;
  const grid = $("grid");
  grid.dataset.size = String(size);
  grid.replaceChildren(...task.items.map(tile));
  const remaining = waiting().filter((item) => !state.labels.has(item.id)).length;
  $("submit").disabled = state.sending || state.labels.size === 0;
  $("undo").disabled = state.undo.length === 0;
  $("redo").disabled = state.redo.length === 0;
  if (!state.sending) $("status").textContent = remaining ? `${remaining} still without a label` : "Every item has a label: Enter submits";
}

function showTask(task) {
  if (!task) {
    $("work").hidden = true;
    $("done").hidden = false;
    return;
  }
  state.task = task;
  state.editor = null;
  state.undo = [];
  state.redo = [];
  loadDraft();
  for (const item of task.items) { // a pre-filled label is the default, to confirm or correct
    if (item.outcome === "pending" && item.prelabel && !state.labels.has(item.id)) {
      const given = state.boxes ? item.prelabel.boxes : item.prelabel.classes;
      if (given) state.labels.set(item.id, given.filter((entry) => entry && (entry.class ?? entry)));
    }
  }
  const first = waiting()[0];
  state.selected = new Set(first ? [first.id] : []);
  $("work").hidden = false;
  $("done").hidden = true;
  render();
}

async function claim() {
  showTask(await api("POST", `/api/projects/${projectId}/tasks/next`, { kind: null }));
}

async function submit() {
  if (state.sending || (!state.boxes && state.labels.size === 0)) return;
  const pending = new Set(waiting().map((item) => item.id));
  const labels = state.boxes
    ? waiting().slice(0, 1).map((item) => [item.id, state.labels.get(item.id) || []])
    : [...state.labels].filter(([id]) => pending.has(id));
  const complete = state.boxes || waiting().every((item) => state.labels.has(item.id));
  state.key = state.key || `web-${state.task.id}-${Date.now()}`;
  saveDraft();
  state.sending = true;
  $("status").textContent = "Sending…";
  render();
  try {
    const answer = await api("POST", `/api/tasks/${state.task.id}/submit`, {
      labels: labels.map(([id, given]) => ({ item_id: id, label: state.boxes ? { boxes: given } : { classes: given } })),
      idempotency_key: state.key,
      next: complete,
    });
    localStorage.removeItem(draftKey());
    state.sending = false;
    showError(null);
    if (complete) showTask(answer.next_task);
    else {
      state.key = null;
      showTask(answer);
    }
  } catch (failure) {
    state.sending = false;
    if (failure instanceof ApiError) { // the server said no: show why, keep the labels
      showError(failure);
      state.key = null;
      saveDraft();
      render();
      return;
    }
    $("status").textContent = `Not sent (${failure.message}); your labels are kept, retrying…`;
    setTimeout(submit, RETRY_MS); // the same idempotency key: a retry never labels twice
  }
}

async function skipSelected() {
  const ids = [...state.selected];
  for (const id of ids) {
    const answer = await api("POST", `/api/tasks/${state.task.id}/skip`, { item_id: id });
    state.task = answer;
    state.labels.delete(id);
  }
  saveDraft();
  state.selected = new Set();
  if (taskIsClosed()) await claim();
  else moveSelection(1, true);
  render();
}

function taskIsClosed() {
  return state.task.status !== "open";
}

function onKey(event) {
  if ($("work").hidden || event.target.closest("input, textarea")) return;
  const ctrl = event.ctrlKey || event.metaKey;
  if (state.boxes && event.key === "Escape") {
    if (!(state.editor && state.editor.cancelDrawing())) return;
  } else if (state.boxes && (event.key === "Delete" || event.key === "Backspace")) {
    if (!(state.editor && state.editor.removeSelected())) return;
  } else if (!ctrl && /^[1-9]$/.test(event.key)) giveLabel(Number(event.key) - 1);
  else if (ctrl && event.key.toLowerCase() === "a") {
    state.selected = new Set(waiting().map((item) => item.id));
    render();
  } else if (ctrl && event.key.toLowerCase() === "z" && !event.shiftKey) restore(state.undo, state.redo);
  else if (ctrl && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) restore(state.redo, state.undo);
  else if (event.key === "ArrowRight") moveSelection(1);
  else if (event.key === "ArrowLeft") moveSelection(-1);
  else if (event.key === "Enter") submit();
  else if (!ctrl && event.key.toLowerCase() === "s") {
    if (state.boxes) state.selected = new Set(waiting().slice(0, 1).map((item) => item.id));
    skipSelected().catch(showError);
  }
  else return;
  event.preventDefault();
}

async function start() {
  if (!(await signedIn())) return;
  state.project = await api("GET", `/api/projects/${projectId}`);
  state.multi = state.project.task_type.endsWith("multilabel");
  state.boxes = state.project.task_type === BOXES;
  $("project-name").textContent = state.project.name;
  if (!CLASSIFICATION.has(state.project.task_type) && !state.boxes) {
    showError({ message: `The labeling tool for ${state.project.task_type.replaceAll("_", " ")} is not built yet; label it through the API.` });
    return;
  }
  const list = $("classes");
  list.replaceChildren(...classNames().map((name, index) => {
    const entry = element("li");
    entry.dataset.name = name;
    if (state.boxes) entry.style.borderLeft = `4px solid ${PALETTE[index % PALETTE.length]}`;
    if (index < 9) entry.append(element("kbd", String(index + 1)));
    entry.append(element("span", name));
    entry.addEventListener("click", () => giveLabel(index));
    return entry;
  }));
  const instructions = await api("GET", `/api/projects/${projectId}/instructions`);
  if (instructions.html || instructions.url) {
    const box = $("instructions");
    if (instructions.html) box.innerHTML = instructions.html; // cleaned by the server (nh3)
    if (instructions.url) {
      const link = element("a", instructions.url);
      link.href = instructions.url;
      link.rel = "noopener noreferrer";
      box.append(link);
    }
    $("intro").hidden = false;
    $("start").focus();
    await new Promise((resolve) => $("start").addEventListener("click", resolve, { once: true }));
    $("intro").hidden = true;
  }
  document.addEventListener("keydown", onKey);
  $("submit").addEventListener("click", submit);
  $("skip").addEventListener("click", () => skipSelected().catch(showError));
  $("undo").addEventListener("click", () => restore(state.undo, state.redo));
  $("redo").addEventListener("click", () => restore(state.redo, state.undo));
  await claim();
}

start().catch(showError);
