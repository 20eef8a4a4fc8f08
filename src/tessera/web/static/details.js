// A project's details and settings, for its managers: name and status, its data with the refresh
// schedule, "Refresh now" and the dataset versions, label classes, instructions (Markdown with the
// server's preview, or a URL) and labeling settings; members, export, import and ML assist are in their
// own modules. Each form says "Saved" or the server's message next to its button; the server applies a
// change whole or not at all.
import { api, signedIn } from "./api.js";
import { startMembers } from "./details_members.js";
import { startExports } from "./exports_panel.js";
import { startImports } from "./imports_panel.js";
import { startMlSettings } from "./ml_settings.js";

const projectId = Number(document.getElementById("details").dataset.projectId);
const $ = (id) => document.getElementById(id);
const FINISHED = ["succeeded", "failed", "cancelled"];
const GRID_TASKS = ["image_classification_multiclass", "image_classification_multilabel"];
const POLL_MS = 1000;
const state = { project: null, versionsCursor: null };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");
const count = (number) => Number(number).toLocaleString();
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// A message next to a form's button: `ok` for success, else the refusal.
function say(node, text, ok) {
  node.textContent = text;
  node.classList.toggle("ok", ok === true);
  node.classList.toggle("refused", ok === false);
}

// On submit: run `change` with the submit button disabled; it returns what to say ("Saved" if nothing).
function onSubmit(form, change) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = form.querySelector(".form-message");
    const submit = form.querySelector("button[type=submit]");
    say(message, "");
    submit.disabled = true;
    try {
      say(message, (await change()) || "Saved", true);
    } catch (failure) {
      say(message, failure.message, false);
    } finally {
      submit.disabled = false;
    }
  });
}

// --- Project: name, task type, status, created -----------------------------------------------------

function showProject(project) {
  state.project = project;
  $("project-name").textContent = project.name;
  document.title = `${project.name} · details · Tessera`;
  $("name-form").elements.name.value = project.name;
  $("task-type").textContent = project.task_type.replaceAll("_", " ");
  $("status").textContent = project.status;
  $("status").className = `status status-${project.status}`;
  const toggle = $("toggle");
  toggle.hidden = !["running", "paused"].includes(project.status);
  toggle.textContent = project.status === "running" ? "Pause" : "Resume";
  $("created").textContent = when(project.created_at);
}

function setUpProject() {
  onSubmit($("name-form"), async () => {
    showProject(await api("PATCH", `/api/projects/${projectId}`, { name: $("name-form").elements.name.value }));
  });
  $("toggle").addEventListener("click", async () => {
    const action = state.project.status === "running" ? "pause" : "resume";
    $("toggle").disabled = true;
    try {
      showProject(await api("POST", `/api/projects/${projectId}/${action}`));
      say($("status-message"), action === "pause" ? "Paused: labelers cannot take or submit work." : "Running again.", true);
    } catch (failure) {
      say($("status-message"), failure.message, false);
    } finally {
      $("toggle").disabled = false;
    }
  });
}

// --- Data: state, refresh schedule, refresh now, versions -------------------------------------------

async function loadData() {
  let data;
  try {
    data = await api("GET", `/api/projects/${projectId}/data`);
  } catch (failure) {
    if (failure.status !== 404) throw failure;
    $("no-data").hidden = false;
    $("data-body").hidden = true;
    return null;
  }
  $("no-data").hidden = true;
  $("data-body").hidden = false;
  $("data-state").textContent = data.state;
  $("data-state").className = `state state-${data.state}`;
  const left = data.items_left_out ? `, ${count(data.items_left_out)} left out` : "";
  $("data-counts").textContent = `${count(data.files_found)} found, ${count(data.items_loaded)} items loaded${left}`;
  $("data-searched").textContent = data.searched || "—";
  $("data-last-refresh").textContent = data.last_refresh_at
    ? `${when(data.last_refresh_at)}: ${count(data.last_refresh_added ?? 0)} added`
    : "never";
  $("data-message").textContent = data.message;
  $("refresh-now").disabled = data.state !== "ready";
  if (data.state === "initializing") setTimeout(() => followInitialization().catch(showError), 3 * POLL_MS);
  return data;
}

// While the data loads, the page follows it; the versions list once it is ready.
async function followInitialization() {
  const data = await loadData();
  if (data && data.state !== "initializing") await loadVersions(true);
}

function fillSchedule(data) {
  const form = $("refresh-form").elements;
  const seconds = data.refresh_interval_seconds;
  const unit = [86400, 3600, 60].find((size) => seconds % size === 0) || 60;
  form.enabled.checked = data.refresh_enabled;
  form.unit.value = String(unit);
  form.interval.value = String(Math.round((seconds / unit) * 100) / 100);
}

async function loadVersions(reset) {
  const body = $("versions").tBodies[0];
  if (reset) {
    state.versionsCursor = null;
    body.replaceChildren();
  }
  const cursor = state.versionsCursor ? `&cursor=${encodeURIComponent(state.versionsCursor)}` : "";
  const page = await api("GET", `/api/projects/${projectId}/data/versions?limit=50${cursor}`);
  for (const version of page.items) {
    const row = element("tr");
    row.dataset.version = version.number;
    row.append(
      element("td", String(version.number)), element("td", version.reason),
      element("td", count(version.files_added)), element("td", count(version.files_removed)),
      element("td", when(version.created_at)),
    );
    body.append(row);
  }
  if (!body.children.length) {
    const none = element("td", "no versions yet", "muted");
    none.colSpan = 5;
    body.append(element("tr"));
    body.lastChild.append(none);
  }
  state.versionsCursor = page.next_cursor;
  $("more-versions").hidden = !page.next_cursor;
}

function jobWords(job) {
  const total = job.progress_total ? ` (${count(job.progress_done)} of ${count(job.progress_total)})` : "";
  return `Refresh job ${job.id}: ${job.status}${total}…`;
}

async function refreshNow() {
  const line = $("refresh-job");
  $("refresh-now").disabled = true;
  try {
    let job = await api("POST", `/api/projects/${projectId}/data/refresh`);
    while (!FINISHED.includes(job.status)) {
      say(line, jobWords(job));
      await sleep(POLL_MS);
      job = await api("GET", `/api/jobs/${job.id}`);
    }
    const data = await loadData();
    await loadVersions(true);
    if (job.status === "succeeded") say(line, `Refresh finished: ${count(data.last_refresh_added ?? 0)} added.`, true);
    else say(line, `Refresh ${job.status}: ${job.error || job.message || "no reason given"}`, false);
  } catch (failure) {
    say(line, failure.message, false);
  } finally {
    $("refresh-now").disabled = false;
  }
}

function setUpData() {
  onSubmit($("refresh-form"), async () => {
    const form = $("refresh-form").elements;
    const seconds = Math.round(Number(form.interval.value) * Number(form.unit.value));
    const body = { enabled: form.enabled.checked, interval_seconds: seconds };
    const data = await api("PUT", `/api/projects/${projectId}/data/refresh-schedule`, body);
    fillSchedule(data);
    return data.refresh_enabled ? "Saved: refresh is on" : "Saved: refresh is off";
  });
  $("refresh-now").addEventListener("click", refreshNow);
  $("more-versions").addEventListener("click", () => loadVersions(false).catch(showError));
}

// --- Label classes ------------------------------------------------------------------------------------

function classRow(labelClass) {
  const row = element("li", undefined, "class-row");
  const input = element("input");
  input.value = labelClass ? labelClass.name : "";
  input.required = true;
  input.maxLength = 200;
  input.setAttribute("aria-label", "Class name");
  row.append(input);
  if (labelClass) row.dataset.classId = labelClass.id;
  else row.append(element("span", "new", "chip"));
  const remove = element("button", "Remove", "secondary small");
  remove.type = "button";
  remove.addEventListener("click", () => row.remove());
  row.append(remove);
  return row;
}

function renderClasses(project) {
  $("class-list").replaceChildren(...project.label_classes.map(classRow));
}

function setUpClasses() {
  const form = $("classes-form");
  const submit = form.querySelector("button[type=submit]");
  form.addEventListener("change", () => {
    submit.textContent = form.elements.labels.value === "continue" ? "Save classes" : "Save classes and start over";
  });
  $("add-class").addEventListener("click", () => {
    const row = classRow(null);
    $("class-list").append(row);
    row.querySelector("input").focus();
  });
  $("discard-classes").addEventListener("click", () => {
    renderClasses(state.project);
    say(form.querySelector(".form-message"), "");
  });
  onSubmit(form, async () => {
    const rows = [...$("class-list").children].map((row) => {
      const name = row.querySelector("input").value.trim();
      return row.dataset.classId ? { id: Number(row.dataset.classId), name } : { name };
    });
    const body = { label_classes: rows, labels: form.elements.labels.value };
    const project = await api("PUT", `/api/projects/${projectId}/label-classes`, body);
    showProject(project);
    renderClasses(project);
    form.elements.labels.value = "continue"; // a start-over is chosen again each time, never left on
    submit.textContent = "Save classes";
    return body.labels === "continue" ? "Saved" : "Saved: labeling starts over";
  });
}

// --- Instructions -------------------------------------------------------------------------------------

function showKind(kind) {
  $("markdown-editor").hidden = kind !== "markdown";
  $("url-field").hidden = kind !== "url";
  $("instructions-form").elements.url.required = kind === "url";
}

function showTab(preview) {
  $("write-tab").setAttribute("aria-pressed", String(!preview));
  $("preview-tab").setAttribute("aria-pressed", String(preview));
  $("instructions-form").elements.markdown.hidden = preview;
  $("preview").hidden = !preview;
}

function fillInstructions(project) {
  const form = $("instructions-form").elements;
  const kind = project.instructions_url ? "url" : "markdown";
  form.kind.value = kind;
  form.markdown.value = project.instructions_markdown || "";
  form.url.value = project.instructions_url || "";
  showKind(kind);
  showTab(false);
}

async function preview() {
  const form = $("instructions-form");
  try {
    const rendered = await api("POST", "/api/instructions/preview", { markdown: form.elements.markdown.value });
    $("preview").innerHTML = rendered.html; // cleaned by the server: no script, handler or raw HTML
    if (!rendered.html.trim()) $("preview").replaceChildren(element("p", "Nothing to show yet.", "muted"));
    showTab(true);
  } catch (failure) {
    say(form.querySelector(".form-message"), failure.message, false);
  }
}

function setUpInstructions() {
  const form = $("instructions-form");
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") showKind(form.elements.kind.value);
  });
  $("write-tab").addEventListener("click", () => showTab(false));
  $("preview-tab").addEventListener("click", preview);
  onSubmit(form, async () => {
    const markdown = form.elements.markdown.value;
    const body = form.elements.kind.value === "url"
      ? { instructions_markdown: null, instructions_url: form.elements.url.value.trim() }
      : { instructions_markdown: markdown.trim() ? markdown : null, instructions_url: null };
    const project = await api("PATCH", `/api/projects/${projectId}`, body);
    showProject(project);
    fillInstructions(project);
  });
}

// --- Labeling settings --------------------------------------------------------------------------------

const SETTINGS = ["page_size", "lease_seconds", "min_labelers", "max_labelers", "agreement_threshold", "iou_threshold"];

function fillSettings(settings) {
  const form = $("settings-form").elements;
  const grid = GRID_TASKS.includes(state.project.task_type);
  for (const option of form.page_size.options) option.disabled = !grid && option.value !== "1";
  $("page-size-hint").textContent = grid ? "A grid of 4, 6 or 9 items, or one at a time." : "This task shows one item at a time.";
  for (const name of SETTINGS) form[name].value = String(settings[name]);
}

function setUpSettings() {
  onSubmit($("settings-form"), async () => {
    const form = $("settings-form").elements;
    const body = Object.fromEntries(SETTINGS.map((name) => [name, Number(form[name].value)]));
    fillSettings(await api("PUT", `/api/projects/${projectId}/labeling-settings`, body));
  });
}

// --- Start ----------------------------------------------------------------------------------------------

function showError(failure) {
  $("error").textContent = failure.message;
}

async function start() {
  const user = await signedIn();
  if (!user) return;
  showProject(await api("GET", `/api/projects/${projectId}`));
  const data = await loadData(); // a 403 here: not a manager of the project (the message says so)
  const [settings] = await Promise.all([
    api("GET", `/api/projects/${projectId}/labeling-settings`),
    data ? loadVersions(true) : null,
    startMembers({ projectId, user }),
  ]);
  startExports({ projectId }).catch(showError);
  startImports({ projectId });
  startMlSettings({ projectId, taskType: state.project.task_type }).catch(showError);
  if (data) fillSchedule(data);
  renderClasses(state.project);
  fillInstructions(state.project);
  fillSettings(settings);
  setUpProject();
  setUpData();
  setUpClasses();
  setUpInstructions();
  setUpSettings();
  $("sections").hidden = false;
}

start().catch(showError);
