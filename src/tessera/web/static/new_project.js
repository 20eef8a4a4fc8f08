// The create-project wizard: name and task type, data (upload files with a progress bar, files in a
// datastore chosen with globs, an existing dataset, or later), label classes, instructions (Markdown with
// a preview, or a URL), labeling settings with consensus and ML assist on or off (classification), then
// a review step. Create makes the project
// through the same API as the SDK and follows its data initialization live. Each step is checked before
// the next; a failure after the project exists says what was done and where to finish.
import { api, ApiError, signedIn, upload } from "./api.js";

const STEPS = ["basics", "data", "classes", "instructions", "labeling", "review"];
const TITLES = {
  image_classification_multiclass: "Image classification, one class",
  image_classification_multilabel: "Image classification, several classes",
  object_detection: "Object detection (boxes)",
  instance_segmentation: "Instance segmentation (polygons)",
  semantic_segmentation: "Semantic segmentation (masks)",
  text_classification_multiclass: "Text classification, one class",
  text_classification_multilabel: "Text classification, several classes",
  text_ner: "Named entities in text",
};
const ML_TASKS = /^(image|text)_classification_/; // the task types ML assist covers (on by default)
const BATCH_BYTES = 32 * 1024 * 1024; // one upload request carries at most this much, or BATCH_FILES files
const BATCH_FILES = 100;
const FOLLOW_MS = 400;
const $ = (id) => document.getElementById(id);
const state = { step: 0, taskTypes: [], datasets: [] };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

const chosen = (name) => (document.querySelector(`input[name='${name}']:checked`) || {}).value;
const taskType = () => state.taskTypes.find((entry) => entry.task_type === chosen("task-type"));
const media = () => (taskType() ? taskType().media : "image");
const classes = () => $("label-classes").value.split("\n").map((line) => line.trim()).filter(Boolean);
const files = () => [...$("files").files];
const mlOffered = () => Boolean(taskType()) && ML_TASKS.test(taskType().task_type);

function showStep(index) {
  state.step = index;
  for (const section of document.querySelectorAll("section.step")) section.hidden = section.dataset.step !== STEPS[index];
  document.querySelectorAll("#steps li").forEach((entry, at) => {
    entry.classList.toggle("current", at === index);
    entry.classList.toggle("done", at < index);
  });
  $("previous").disabled = index === 0;
  $("next").hidden = index === STEPS.length - 1;
  $("create").hidden = index !== STEPS.length - 1;
  if (STEPS[index] === "review") summarize();
  $("error").textContent = "";
}

// What is wrong with a step, or null.
function problem(step) {
  if (step === "basics") {
    if (!$("name").value.trim()) return "Give the project a name.";
    if (!taskType()) return "Choose a task type.";
  } else if (step === "data") {
    const source = chosen("source");
    if (source === "upload" && !files().length) return "Choose the files to upload, or pick another source.";
    if (source === "datastore" && !$("datastore").value) return "There is no datastore to choose: add one first, or upload files.";
    if (source === "datastore" && !patterns().length) return "Give at least one path glob, such as **/*.";
    if (source === "dataset" && !$("dataset").value) return `There is no ${media()} dataset yet: pick another source.`;
  } else if (step === "classes") {
    const names = classes();
    if (!names.length) return "Give at least one label class.";
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated) return `The class "${repeated}" is there twice.`;
  } else if (step === "instructions" && chosen("instructions-kind") === "url") {
    if (!/^https?:\/\/\S+$/.test($("instructions-url").value.trim())) return "The instructions URL must start with http:// or https://.";
  } else if (step === "labeling" && $("consensus").checked) {
    const least = Number($("min-labelers").value);
    const most = Number($("max-labelers").value);
    if (!(least >= 1 && most >= least && most <= 10)) return "Labelers: at least 1, and at most no fewer than at least (up to 10).";
    const share = Number($("agreement").value);
    if (!(share >= 0.5 && share <= 1)) return "Agreement is a share between 0.5 and 1.";
  }
  return null;
}

const patterns = () => $("patterns").value.split("\n").map((line) => line.trim()).filter(Boolean);

function labelingSettings() {
  const settings = { page_size: Number($("page-size").value) };
  if ($("consensus").checked) {
    Object.assign(settings, {
      min_labelers: Number($("min-labelers").value), max_labelers: Number($("max-labelers").value),
      agreement_threshold: Number($("agreement").value),
    });
  } else Object.assign(settings, { min_labelers: 1, max_labelers: 1 });
  return settings;
}

function sourceText() {
  const source = chosen("source");
  if (source === "upload") {
    const bytes = files().reduce((sum, file) => sum + file.size, 0);
    return `${files().length} file${files().length === 1 ? "" : "s"} to upload (${megabytes(bytes)})`;
  }
  if (source === "datastore") return `${$("datastore").selectedOptions[0].textContent}: ${patterns().join(", ")}`;
  if (source === "dataset") return `the dataset ${$("dataset").selectedOptions[0].textContent}`;
  return "none yet";
}

const megabytes = (bytes) => (bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

function summarize() {
  const kind = chosen("instructions-kind");
  const instructions = kind === "markdown" ? ($("instructions-markdown").value.trim() ? "written (Markdown)" : "none") : kind === "url" ? $("instructions-url").value : "none";
  const settings = labelingSettings();
  const rows = [
    ["Name", $("name").value.trim()],
    ["Task", TITLES[taskType().task_type] || taskType().task_type],
    ["Data", sourceText()],
    ["Label classes", classes().join(", ")],
    ["Instructions", instructions],
    ["Page", `${settings.page_size} item${settings.page_size === 1 ? "" : "s"} at once`],
    ["Consensus", $("consensus").checked ? `${settings.min_labelers}–${settings.max_labelers} labelers, agreement ≥ ${settings.agreement_threshold}` : "one labeler per item"],
    ["ML assist", !mlOffered() ? "not for this task type" : $("ml-assist").checked ? "on" : "off"],
  ];
  $("summary").replaceChildren(...rows.flatMap(([term, value]) => [element("dt", term), element("dd", value)]));
}

function chooseTaskType() {
  const grid = media() === "image" && taskType() && taskType().task_type.startsWith("image_classification");
  const sizes = grid ? [1, 4, 6, 9] : [1];
  const current = Number($("page-size").value) || (grid ? 4 : 1);
  $("page-size").replaceChildren(...sizes.map((size) => {
    const option = element("option", size === 1 ? "1 (one item a page)" : `${size} (a grid)`);
    option.value = String(size);
    option.selected = size === (sizes.includes(current) ? current : sizes[0]);
    return option;
  }));
  $("files").accept = media() === "image" ? "image/*" : ".txt,.csv,.jsonl,text/plain,text/csv";
  document.querySelector("[data-media='text']").hidden = media() !== "text";
  $("ml-choice").hidden = !mlOffered();
  $("ml-not-offered").hidden = mlOffered();
  const datasets = state.datasets.filter((dataset) => dataset.media === media());
  $("dataset").replaceChildren(...datasets.map((dataset) => {
    const option = element("option", `${dataset.name} (${dataset.patterns.join(", ")})`);
    option.value = String(dataset.id);
    return option;
  }));
}

function showSource() {
  for (const part of document.querySelectorAll("[data-source]")) part.hidden = part.dataset.source !== chosen("source");
}

async function preview() {
  const answer = await api("POST", "/api/instructions/preview", { markdown: $("instructions-markdown").value });
  $("instructions-preview").innerHTML = answer.html; // cleaned by the server (nh3)
}

function batches(all) {
  const groups = [];
  let group = [];
  let bytes = 0;
  for (const file of all) {
    if (group.length && (bytes + file.size > BATCH_BYTES || group.length >= BATCH_FILES)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(file);
    bytes += file.size;
  }
  if (group.length) groups.push(group);
  return groups;
}

async function uploadAll(datasetId) {
  const all = files();
  const total = Math.max(1, all.reduce((sum, file) => sum + file.size, 0));
  let done = 0;
  let stored = 0;
  $("progress-area").hidden = false;
  const show = (sent) => {
    const share = Math.min(1, (done + sent) / total);
    $("progress-bar").style.width = `${(share * 100).toFixed(1)}%`;
    $("progress-text").textContent = `Uploading: ${stored} of ${all.length} files stored · ${Math.round(share * 100)}%`;
  };
  for (const group of batches(all)) {
    const groupBytes = group.reduce((sum, file) => sum + file.size, 0);
    const answer = await upload(`/api/datasets/${datasetId}/files?skip_existing=true`, group, (sent) => show(Math.min(sent, groupBytes)));
    done += groupBytes;
    stored += answer.files.length + answer.skipped.length;
    show(0);
  }
}

async function datasetFor(projectName) {
  const source = chosen("source");
  const textColumn = media() === "text" && $("text-column").value.trim() ? $("text-column").value.trim() : null;
  if (source === "upload") {
    const dataset = await api("POST", "/api/datasets/uploads", { name: `${projectName} uploads`, media: media(), text_column: textColumn });
    await uploadAll(dataset.id);
    return dataset.id;
  }
  if (source === "datastore") {
    const dataset = await api("POST", "/api/datasets", {
      name: `${projectName} data`, datastore_id: Number($("datastore").value), patterns: patterns(), media: media(), text_column: textColumn,
    });
    return dataset.id;
  }
  if (source === "dataset") return Number($("dataset").value);
  return null;
}

function say(text, link) {
  const follow = $("follow");
  follow.replaceChildren(element("span", text));
  if (link) {
    const anchor = element("a", link.text);
    anchor.href = link.href;
    follow.append(" ", anchor);
  }
}

// The project's data as it initializes, until it is ready or failed.
async function followData(projectId) {
  for (;;) {
    const data = await api("GET", `/api/projects/${projectId}/data`);
    const counts = `${data.files_found.toLocaleString()} files found, ${data.items_loaded.toLocaleString()} items loaded${data.items_left_out ? `, ${data.items_left_out.toLocaleString()} left out` : ""}`;
    if (data.state !== "initializing") {
      const dashboard = { text: "Open the project's dashboard", href: `/projects/${projectId}` };
      say(data.state === "ready" ? `Ready: ${counts}.` : `Loading the data failed: ${data.message}`, dashboard);
      return;
    }
    say(`Loading the data: ${counts}…`);
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
  }
}

async function create() {
  if (problem("basics") || problem("data") || problem("classes")) return;
  $("create").disabled = $("previous").disabled = true;
  const name = $("name").value.trim();
  const kind = chosen("instructions-kind");
  const body = { name, task_type: taskType().task_type, label_classes: classes() };
  if (kind === "markdown" && $("instructions-markdown").value.trim()) body.instructions_markdown = $("instructions-markdown").value;
  if (kind === "url") body.instructions_url = $("instructions-url").value.trim();
  let project = null;
  try {
    project = await api("POST", "/api/projects", body);
    say("Project created; saving its settings…");
    if (mlOffered() && !$("ml-assist").checked) { // before any data: nothing gets embedded
      await api("PATCH", `/api/projects/${project.id}/ml/settings`, { enabled: false });
    }
    await api("PUT", `/api/projects/${project.id}/labeling-settings`, labelingSettings());
    const datasetId = await datasetFor(name);
    if (datasetId === null) {
      say("Created, without data.", { text: "Add data on its details page", href: `/projects/${project.id}/details` });
      return;
    }
    await api("POST", `/api/projects/${project.id}/data`, { dataset_id: datasetId });
    await followData(project.id);
  } catch (failure) {
    if (!project) {
      $("create").disabled = $("previous").disabled = false;
      $("error").textContent = failure instanceof ApiError ? `Not created: ${failure.message}` : `Not created (${failure.message}); try again.`;
      return;
    }
    $("error").textContent = `The project was created, but ${failure.message}.`;
    say("Finish on its details page:", { text: "details", href: `/projects/${project.id}/details` });
  }
}

async function start() {
  const user = await signedIn();
  if (!user) return;
  if (!["admin", "creator"].includes(user.workspace_role)) {
    $("error").textContent = "Only workspace admins and creators may create projects.";
    $("wizard").hidden = true;
    return;
  }
  state.taskTypes = await api("GET", "/api/task-types");
  $("task-types").append(...state.taskTypes.map((entry, index) => {
    const choice = element("label", undefined, "choice");
    const input = Object.assign(document.createElement("input"), { type: "radio", name: "task-type", value: entry.task_type, checked: index === 0 });
    const text = element("span");
    text.append(element("strong", TITLES[entry.task_type] || entry.task_type), element("span", ` — ${entry.summary}`, "muted"));
    choice.append(input, " ", text);
    input.addEventListener("change", chooseTaskType);
    return choice;
  }));
  const [datastores, datasets] = await Promise.all([api("GET", "/api/datastores?limit=200"), api("GET", "/api/datasets?limit=200")]);
  state.datasets = datasets.items;
  $("datastore").replaceChildren(...datastores.items.map((store) => {
    const option = element("option", `${store.name} (${store.kind})`);
    option.value = String(store.id);
    return option;
  }));
  chooseTaskType();
  showSource();
  showStep(0);
  document.querySelectorAll("input[name='source']").forEach((input) => input.addEventListener("change", showSource));
  document.querySelectorAll("input[name='instructions-kind']").forEach((input) => input.addEventListener("change", () => {
    for (const part of document.querySelectorAll("[data-instructions]")) part.hidden = part.dataset.instructions !== chosen("instructions-kind");
  }));
  $("files").addEventListener("change", () => {
    const bytes = files().reduce((sum, file) => sum + file.size, 0);
    $("files-summary").textContent = files().length ? `${files().length} files, ${megabytes(bytes)}` : "No files chosen.";
  });
  $("consensus").addEventListener("change", () => { $("consensus-settings").hidden = !$("consensus").checked; });
  $("preview").addEventListener("click", () => preview().catch((failure) => { $("error").textContent = failure.message; }));
  $("previous").addEventListener("click", () => showStep(Math.max(0, state.step - 1)));
  $("next").addEventListener("click", () => {
    const wrong = problem(STEPS[state.step]);
    if (wrong) $("error").textContent = wrong;
    else showStep(state.step + 1);
  });
  $("create").addEventListener("click", () => create());
  $("wizard").addEventListener("submit", (event) => event.preventDefault());
  $("next").disabled = false; // ready: the task types are listed and every step is wired
}

start().catch((failure) => { $("error").textContent = failure.message; });
