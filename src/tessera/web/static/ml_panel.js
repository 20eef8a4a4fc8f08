// The dashboard's ML-assist panel: what ML assist is doing (or why there are no prelabels), the next
// training, the latest model and its threshold, how the labelers received its prelabels against the
// target, what waits, the possible label errors (linked to the review page, filtered), the running ML job
// (or the last one, when it failed) and the recent ones. project.js calls refreshMlPanel on each of its
// refreshes; the panel stays hidden for task types ML assist does not cover. The jobs list is for
// managers: for reviewers it is left out.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const RECENT_JOBS = 5;
const state = { jobsAllowed: true };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML: messages quote class names
  if (className) node.className = className;
  return node;
}

const count = (number) => Number(number).toLocaleString();
const percent = (share) => `${(Math.round(share * 1000) / 10).toLocaleString()}%`;
const plural = (number, word) => `${count(number)} ${word}${number === 1 ? "" : "s"}`;

export function seconds(from, to) {
  if (!from) return "";
  const total = Math.max(0, (new Date(to || Date.now()) - new Date(from)) / 1000);
  if (total < 60) return `${total.toFixed(1)} s`;
  const minutes = Math.floor(total / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(total % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function nextTraining(status) {
  if (status.next_training_in === null) {
    return status.settings.enabled && status.supported ? "when two classes have enough labels" : "off";
  }
  const first = status.trained_at_labels === null ? " (the first training)" : "";
  if (status.next_training_in === 0) {
    const training = status.active_job && status.active_job.kind === "ml.train";
    return training ? "training now" : `due now${first}`;
  }
  return `in ${plural(status.next_training_in, "label")}${first}`;
}

function modelLine(model) {
  if (!model) return ["none yet"];
  const lead = `v${model.version}`;
  if (model.status === "training") return [`${lead}, training…`];
  if (model.status === "failed") return [`${lead} failed`, model.message];
  const accuracy = model.metrics && model.metrics.accuracy != null ? `, ${percent(model.metrics.accuracy)} held-out accuracy` : "";
  return [`${lead}, trained on ${plural(model.trained_on, "label")}${accuracy}`];
}

// The threshold, or "no prelabels this round" with why and the labels likely needed.
function thresholdLine(model) {
  if (!model || model.status !== "ready") return { text: "—" };
  if (model.threshold !== null) {
    return { text: `confidence ≥ ${model.threshold.toFixed(3)} (target ${percent(model.target_precision)} precision); ${plural(model.prelabeled, "item")} pre-labeled` };
  }
  const needed = model.labels_needed !== null ? `; about ${plural(model.labels_needed, "more label")} likely needed` : "";
  return { text: `no prelabels this round${needed}`, warn: true };
}

function realizedLine(status) {
  const realized = status.realized_precision;
  const target = status.settings.target_precision;
  if (realized.precision === null) return { text: `none decided yet (target ${percent(target)})` };
  const decided = realized.accepted + realized.corrected;
  return {
    text: `${percent(realized.precision)} kept of ${plural(decided, "decided prelabel")} (${count(realized.accepted)} accepted, ${count(realized.corrected)} corrected); target ${percent(target)}`,
    warn: realized.precision < target,
  };
}

function fill(id, parts, warn = false) {
  const node = $(id);
  node.replaceChildren(...parts.filter(Boolean).map((part, index) => (typeof part === "string" ? element("span", index ? ` — ${part}` : part) : part)));
  node.classList.toggle("ml-warn", warn);
}

function errorsLine(status, projectId) {
  const errors = status.possible_label_errors;
  if (!errors) return ["none found"];
  const link = element("a", `${plural(errors, "item")} to look at`);
  link.href = `/projects/${projectId}/review?possible_label_error=true`;
  link.id = "ml-errors-link";
  return [link];
}

function jobRow(job) {
  const row = element("tr");
  row.dataset.jobId = job.id;
  const running = ["queued", "running"].includes(job.status);
  const duration = running ? (job.started_at ? `${seconds(job.started_at)} so far` : "waiting") : seconds(job.started_at, job.finished_at);
  row.append(
    element("td", `#${job.id} ${job.kind}`), element("td", job.status, `state job-${job.status}`),
    element("td", duration), element("td", job.message || "", "muted"), // error: the traceback, too long
  );
  return row;
}

async function showJobs(projectId) {
  if (!state.jobsAllowed) return;
  let page;
  try {
    page = await api("GET", `/api/projects/${projectId}/jobs?limit=100`);
  } catch (failure) {
    if (failure.status !== 403) throw failure;
    state.jobsAllowed = false; // a reviewer: ML assist's state, not the project's jobs nor its settings
    $("ml-jobs-box").hidden = true;
    $("ml-settings-link").hidden = true;
    return;
  }
  const jobs = page.items.filter((job) => job.kind.startsWith("ml.")).slice(0, RECENT_JOBS);
  $("ml-jobs").tBodies[0].replaceChildren(...jobs.map(jobRow));
  $("ml-jobs-box").hidden = jobs.length === 0;
}

function show(status, projectId) {
  const on = status.settings.enabled;
  $("ml-state").textContent = on ? "on" : "off";
  $("ml-state").classList.toggle("muted-chip", !on);
  $("ml-summary").textContent = status.summary.charAt(0).toUpperCase() + status.summary.slice(1);
  fill("ml-next", [nextTraining(status)]);
  const model = status.latest_model;
  fill("ml-model", modelLine(model), model && model.status === "failed");
  const threshold = thresholdLine(model);
  fill("ml-threshold", [threshold.text], threshold.warn);
  const realized = realizedLine(status);
  fill("ml-realized", [realized.text], realized.warn);
  fill("ml-waiting", [status.prelabels_waiting ? `${plural(status.prelabels_waiting, "item")} waiting for a labeler to confirm` : "none"]);
  fill("ml-errors", errorsLine(status, projectId));
  const job = status.active_job;
  const failed = status.last_failure;
  if (job) fill("ml-job", [`#${job.id} ${job.kind} (${job.status})`, job.message]);
  else if (failed) fill("ml-job", [`the last one, #${failed.job_id} ${failed.kind}, failed`, failed.error], true);
  else fill("ml-job", ["nothing"]);
  $("ml-embedded").textContent = `${count(status.featurized_items)} items embedded, ${count(status.labeled)} labeled.`;
}

// One refresh of the panel; never throws (the dashboard's numbers go on without it).
export async function refreshMlPanel(projectId) {
  const panel = $("ml-panel");
  try {
    const status = await api("GET", `/api/projects/${projectId}/ml`);
    if (!status.supported) {
      panel.hidden = true;
      return;
    }
    show(status, projectId);
    await showJobs(projectId);
    $("ml-error").textContent = "";
    panel.hidden = false;
  } catch (failure) {
    if (failure.status === 403 || failure.status === 404) panel.hidden = true;
    else $("ml-error").textContent = `ML assist: ${failure.message}`;
  }
}
