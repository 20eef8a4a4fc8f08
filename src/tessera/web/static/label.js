// The labeling tool: instructions first, then tasks. Classification (images and text) shows pages of
// 1–9 items: 1–9 give the selected items the label of that key (multi-label: toggle it); Ctrl+A selects
// every waiting item; ←/→ move the selection; Z shows the selected image at full resolution. The other
// task types show one item in their editor (editors.js). For all: Ctrl+Z / Ctrl+Y undo and redo; S skips;
// Alt+← / Alt+→ go back through your earlier labels (past_labels.js) and forward again;
// Enter submits and brings the next page. Labels not yet sent are kept in localStorage per task, so a
// reload or a dropped connection loses nothing; a submit that fails on the network is retried.
import { api, ApiError, signedIn } from "./api.js";
import { classColors, editorFor, PALETTE } from "./editors.js";
import { PastLabels } from "./past_labels.js";
import { openZoom } from "./zoom_view.js";

const CLASSIFICATION = new Set([
  "image_classification_multiclass", "image_classification_multilabel",
  "text_classification_multiclass", "text_classification_multilabel",
]);
const RETRY_MS = 3000;
const GRID_THUMBNAIL_SIZE = 512; // sharp in a 3-column grid and on HiDPI screens; made ahead by the server (queue/lookahead.py)
const root = document.getElementById("tool");
const projectId = Number(root.dataset.projectId);
const $ = (id) => document.getElementById(id);

const state = {
  project: null, multi: false, Editor: null, editor: null, task: null, labels: new Map(), selected: new Set(),
  undo: [], redo: [], key: null, sending: false, zoom: null, past: null,
};

const isEmpty = (value) => value === undefined || value === null || (Array.isArray(value) && value.length === 0);

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
  try {
    localStorage.setItem(draftKey(), JSON.stringify(draft));
  } catch (failure) { // the browser's storage is full (a big mask): the labels stay on the page
    showError({ message: `Your draft could not be kept in this browser (${failure.name}); submit before you reload.` });
  }
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
  const before = itemIds.map((id) => [id, state.labels.get(id)]);
  for (const id of itemIds) {
    const next = apply(state.labels.get(id) || []);
    if (isEmpty(next)) state.labels.delete(id);
    else state.labels.set(id, next);
  }
  state.undo.push(before);
  state.redo = [];
  saveDraft();
  render();
}

function restore(from, to) {
  const step = from.pop();
  if (!step) return;
  to.push(step.map(([id]) => [id, state.labels.get(id)]));
  for (const [id, value] of step) {
    if (isEmpty(value)) state.labels.delete(id);
    else state.labels.set(id, value);
  }
  saveDraft();
  if (state.editor) state.editor.set(state.labels.get(state.editor.itemId));
  render();
}

function giveLabel(index) {
  const name = classNames()[index];
  if (state.Editor) {
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
    image.src = `/api/items/${item.id}/thumbnail?size=${GRID_THUMBNAIL_SIZE}`;
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
  node.addEventListener("dblclick", () => {
    if (state.project.media !== "image") return;
    state.selected = new Set([item.id]);
    openZoomOnSelected().catch(showError);
  });
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

async function openZoomOnSelected() {
  const item = state.task.items.find((entry) => state.selected.has(entry.id));
  if (!item || state.zoom) return;
  state.zoom = { handleKey: () => true, close() {} }; // keys wait while it opens
  state.zoom = await openZoom(item, closeZoom);
}

function closeZoom() {
  if (!state.zoom) return;
  state.zoom.close();
  state.zoom = null;
}

function markClass(name) {
  document.querySelectorAll("#classes li").forEach((entry) => entry.classList.toggle("current", entry.dataset.name === name));
}

async function openEditor(item) {
  const holder = element("div", undefined, "tile single");
  holder.dataset.itemId = item.id;
  const stage = element("div", undefined, "editor");
  holder.append(stage, element("div", item.path, "muted"));
  $("grid").dataset.size = "1";
  $("grid").replaceChildren(holder);
  if (state.editor) state.editor.close();
  state.editor = null;
  const editor = await state.Editor.open(stage, {
    item, classes: classNames(), colors: colors(),
    onChange: (value) => change([item.id], () => value),
  });
  editor.itemId = item.id;
  editor.set(state.labels.get(item.id));
  state.editor = editor;
  markClass(editor.currentClass);
  render();
}

function colors() {
  return classColors(classNames());
}

// Alt+← / Alt+→: through the labeler's earlier labels, and back to the current task.
async function goBack(direction) {
  if (state.sending || (!state.past && direction > 0)) return;
  if (!state.past) {
    state.past = new PastLabels({
      projectId, media: state.project.media, multi: state.multi, Editor: state.Editor, classes: classNames(),
      colors: colors(), grid: $("grid"), status: (text) => { $("status").textContent = text; },
    });
  }
  const inside = await state.past.step(-direction);
  $("work").classList.toggle("in-past", inside);
  $("hint").hidden = inside || Boolean(state.Editor);
  if (inside) $("kind").textContent = "Your earlier labels, newest first";
  else {
    state.past.close();
    state.past = null;
    $("grid").replaceChildren();
    render();
  }
}

function render() {
  const task = state.task;
  if (state.past) return;
  if (state.Editor) {
    const item = waiting()[0];
    if (item && !$("grid").querySelector(`[data-item-id='${item.id}']`)) openEditor(item).catch(showError);
    $("hint").hidden = true;
    $("kind").textContent = `${task.kind === "prelabeled" ? "Suggested labels to confirm or correct · " : ""}${state.Editor.hint}`;
    $("submit").disabled = state.sending || !state.editor || state.editor.itemId !== (item && item.id);
    $("undo").disabled = state.undo.length === 0;
    $("redo").disabled = state.redo.length === 0;
    if (!state.sending && state.editor) $("status").textContent = state.editor.summary();
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
  state.undo = [];
  state.redo = [];
  loadDraft();
  for (const item of task.items) { // a pre-filled label is the default, to confirm or correct
    if (item.outcome === "pending" && item.prelabel && !state.labels.has(item.id)) {
      const given = state.Editor ? state.Editor.fromLabel(item.prelabel) : item.prelabel.classes;
      const known = Array.isArray(given) ? given.filter((entry) => entry && (entry.class ?? entry)) : given;
      if (!isEmpty(known)) state.labels.set(item.id, known);
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
  if (state.sending || (!state.Editor && state.labels.size === 0)) return;
  const pending = new Set(waiting().map((item) => item.id));
  const first = waiting()[0];
  if (state.Editor && !(first && state.editor && state.editor.itemId === first.id)) return;
  const unfinished = state.editor && state.editor.unfinished && state.editor.unfinished();
  if (unfinished) {
    $("status").textContent = `Not sent: ${unfinished}.`;
    return;
  }
  const labels = state.Editor
    ? [[first.id, await state.editor.payload()]]
    : [...state.labels].filter(([id]) => pending.has(id)).map(([id, given]) => [id, { classes: given }]);
  const complete = Boolean(state.Editor) || waiting().every((item) => state.labels.has(item.id));
  state.key = state.key || `web-${state.task.id}-${Date.now()}`;
  saveDraft();
  state.sending = true;
  $("status").textContent = "Sending…";
  render();
  try {
    const answer = await api("POST", `/api/tasks/${state.task.id}/submit`, {
      labels: labels.map(([id, label]) => ({ item_id: id, label })),
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
  if (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
    goBack(event.key === "ArrowLeft" ? -1 : 1).catch(showError);
  } else if (state.past) {
    if (!state.past.handleKey(event)) return;
  } else if (state.zoom) {
    if (event.key === "Escape" || event.key.toLowerCase() === "z") closeZoom();
    else if (!state.zoom.handleKey(event)) return;
  } else if (state.editor && state.editor.handleKey(event)) {
    // the editor's own key (zoom, pan, tools)
  } else if (state.Editor && event.key === "Escape") {
    if (!(state.editor && state.editor.cancel())) return;
  } else if (state.Editor && (event.key === "Delete" || event.key === "Backspace")) {
    if (!(state.editor && state.editor.removeSelected())) return;
  } else if (!ctrl && /^[1-9]$/.test(event.key)) giveLabel(Number(event.key) - 1);
  else if (!ctrl && !state.Editor && state.project.media === "image" && event.key.toLowerCase() === "z") openZoomOnSelected().catch(showError);
  else if (ctrl && event.key.toLowerCase() === "a") {
    state.selected = new Set(waiting().map((item) => item.id));
    render();
  } else if (ctrl && event.key.toLowerCase() === "z" && !event.shiftKey) restore(state.undo, state.redo);
  else if (ctrl && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) restore(state.redo, state.undo);
  else if (event.key === "ArrowRight") moveSelection(1);
  else if (event.key === "ArrowLeft") moveSelection(-1);
  else if (event.key === "Enter") submit();
  else if (!ctrl && event.key.toLowerCase() === "s") {
    if (state.Editor) state.selected = new Set(waiting().slice(0, 1).map((item) => item.id));
    skipSelected().catch(showError);
  }
  else return;
  event.preventDefault();
}

async function start() {
  if (!(await signedIn())) return;
  state.project = await api("GET", `/api/projects/${projectId}`);
  state.multi = state.project.task_type.endsWith("multilabel");
  $("project-name").textContent = state.project.name;
  state.Editor = await editorFor(state.project.task_type);
  if (state.Editor) $("skip").textContent = "Skip";
  else if (!CLASSIFICATION.has(state.project.task_type)) {
    showError({ message: `There is no labeling tool for ${state.project.task_type.replaceAll("_", " ")}; label it through the API.` });
    return;
  }
  const list = $("classes");
  list.replaceChildren(...classNames().map((name, index) => {
    const entry = element("li");
    entry.dataset.name = name;
    if (state.Editor) entry.style.borderLeft = `4px solid ${PALETTE[index % PALETTE.length]}`;
    if (index < 9) entry.append(element("kbd", String(index + 1)));
    entry.append(element("span", name));
    entry.addEventListener("mousedown", (event) => event.preventDefault()); // keep a text selection (NER)
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
  $("back").addEventListener("click", () => goBack(-1).catch(showError));
  $("forward").addEventListener("click", () => goBack(1).catch(showError));
  await claim();
}

start().catch(showError);
