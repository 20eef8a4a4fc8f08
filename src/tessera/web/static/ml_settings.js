// The ML-assist part of a project's details page (managers): its settings (on or off, the target
// precision as a percent, when the first training comes and how often the next ones, active learning,
// clustering), saved whole or refused with the server's reason next to the field it names; "Start training
// now", followed until the training and its pre-labeling finish; and the model versions.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const FINISHED = ["succeeded", "failed", "cancelled"];
const FOLLOW_MS = 1000;
const NUMBERS = ["first_training_labels", "min_labels_per_class", "retrain_every"];
const SWITCHES = ["enabled", "active_learning", "clustering"];
const state = { projectId: 0, projectType: "" };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

function say(node, text, ok) {
  node.textContent = text;
  node.classList.toggle("ok", ok === true);
  node.classList.toggle("refused", ok === false);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
const percentValue = (share) => String(Math.round(share * 1000) / 10);
const mlPath = (rest = "") => `/api/projects/${state.projectId}/ml${rest}`;

function fillForm(status) {
  const form = $("ml-form").elements;
  const settings = status.settings;
  for (const name of SWITCHES) form[name].checked = settings[name];
  form.target_precision.value = percentValue(settings.target_precision);
  for (const name of NUMBERS) form[name].value = String(settings[name]);
  const images = state.projectType.startsWith("image_");
  form.clustering.disabled = !images;
  $("ml-clustering-hint").textContent = images ? "(the labeling tool says when a page holds similar items)." : "— for image projects only.";
}

function showStatus(status) {
  $("ml-summary").textContent = status.supported ? `Now: ${status.summary}.` : `${status.summary}.`;
  $("ml-body").hidden = !status.supported;
}

function clearFieldMessages() {
  for (const node of $("ml-form").querySelectorAll(".field-message")) say(node, "");
  for (const input of $("ml-form").querySelectorAll("input")) input.removeAttribute("aria-invalid");
}

// The server's 422 names the field: its message goes next to that field too.
function showFieldMessages(failure) {
  const problems = (failure.body && failure.body.details && failure.body.details.errors) || [];
  for (const problem of problems) {
    const name = String(problem.field || "").split(".").pop();
    const slot = $("ml-form").querySelector(`.field-message[data-field='${CSS.escape(name)}']`);
    if (slot) say(slot, problem.message, false);
    const input = $("ml-form").elements[name];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
}

function formBody() {
  const form = $("ml-form").elements;
  const body = Object.fromEntries(SWITCHES.map((name) => [name, form[name].checked]));
  body.target_precision = Number((Number(form.target_precision.value) / 100).toFixed(6));
  for (const name of NUMBERS) body[name] = Number(form[name].value);
  return body;
}

async function save(event) {
  event.preventDefault();
  const form = $("ml-form");
  const message = form.querySelector(".form-message");
  const submit = form.querySelector("button[type=submit]");
  say(message, "");
  clearFieldMessages();
  submit.disabled = true;
  try {
    const status = await api("PATCH", mlPath("/settings"), formBody());
    fillForm(status);
    showStatus(status);
    say(message, status.settings.enabled ? "Saved: ML assist is on" : "Saved: ML assist is off", true);
  } catch (failure) {
    showFieldMessages(failure);
    say(message, `Not saved: ${failure.message}`, false);
  } finally {
    submit.disabled = false;
  }
}

function modelRow(model) {
  const row = element("tr");
  row.dataset.version = model.version;
  const accuracy = model.metrics && model.metrics.accuracy != null ? `${percentValue(model.metrics.accuracy)}%` : "—";
  const threshold = model.threshold !== null ? model.threshold.toFixed(3) : model.status === "ready" ? "no prelabels" : "—";
  row.append(
    element("td", `v${model.version}`), element("td", model.status, `state model-${model.status}`),
    element("td", `${model.trained_on.toLocaleString()} labels`), element("td", threshold),
    element("td", accuracy), element("td", model.prelabeled.toLocaleString()),
    element("td", model.finished_at ? new Date(model.finished_at).toLocaleString() : ""),
  );
  row.title = model.message;
  return row;
}

async function loadModels() {
  const models = await api("GET", mlPath("/models"));
  const body = $("ml-models").tBodies[0];
  body.replaceChildren(...models.map(modelRow));
  if (!models.length) {
    const none = element("td", "no model yet", "muted");
    none.colSpan = 7;
    body.append(element("tr"));
    body.lastChild.append(none);
  }
}

// The training job, then the pre-labeling job it queues, until both are done.
async function follow(job, line) {
  while (!FINISHED.includes(job.status)) {
    say(line, `Training job ${job.id}: ${job.status}${job.message ? ` — ${job.message}` : ""}…`);
    await sleep(FOLLOW_MS);
    job = await api("GET", `/api/jobs/${job.id}`);
  }
  if (job.status !== "succeeded") {
    say(line, `Training job ${job.id} ${job.status}: ${job.message || job.error || "no reason given"}`, false);
    return;
  }
  let status = await api("GET", mlPath());
  while (status.active_job) {
    say(line, `Model trained; ${status.active_job.kind} job ${status.active_job.id}: ${status.active_job.message || status.active_job.status}…`);
    await sleep(FOLLOW_MS);
    status = await api("GET", mlPath());
  }
  showStatus(status);
  const model = status.latest_model;
  say(line, model ? `Model v${model.version} is ready: ${model.message}.` : "Training finished.", true);
}

async function trainNow() {
  const line = $("train-message");
  $("train-now").disabled = true;
  say(line, "");
  try {
    const started = await api("POST", mlPath("/train"));
    say(line, `Training started (job ${started.job_id}).`, true);
    await follow(await api("GET", `/api/jobs/${started.job_id}`), line);
    await loadModels();
  } catch (failure) {
    say(line, failure.message, false);
  } finally {
    $("train-now").disabled = false;
  }
}

export async function startMlSettings({ projectId, taskType }) {
  state.projectId = projectId;
  state.projectType = taskType;
  const status = await api("GET", mlPath());
  showStatus(status);
  if (!status.supported) return;
  fillForm(status);
  await loadModels();
  $("ml-form").addEventListener("submit", save);
  $("train-now").addEventListener("click", trainNow);
}
