import { api, signedIn } from "./api.js";

const MANAGING = new Set(["owner", "manager"]);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML: names may contain markup
  if (className) node.className = className;
  return node;
}

function progressBar(progress) {
  const done = progress.labeled;
  const share = progress.total ? Math.round((100 * done) / progress.total) : 0;
  const wrap = element("div", undefined, "progress");
  const bar = element("div", undefined, "progress-bar");
  bar.style.width = `${share}%`;
  wrap.append(bar);
  const words = element("span", `${done.toLocaleString()} of ${progress.total.toLocaleString()} labeled (${share}%)`);
  const rest = [];
  if (progress.needs_review) rest.push(`${progress.needs_review.toLocaleString()} need review`);
  if (progress.skipped) rest.push(`${progress.skipped.toLocaleString()} skipped`);
  if (rest.length) words.textContent += ` · ${rest.join(" · ")}`;
  const cell = element("div", undefined, "progress-cell");
  cell.append(wrap, words);
  return cell;
}

function managedRow(project, refresh) {
  const row = element("tr");
  row.dataset.projectId = project.id;
  const name = element("td");
  const link = element("a", project.name);
  link.href = `/projects/${project.id}`;
  const title = element("strong");
  title.append(link);
  name.append(title, element("div", project.task_type.replaceAll("_", " "), "muted"));
  const status = element("td", project.status, `status status-${project.status}`);
  const progress = element("td");
  progress.append(progressBar(project.progress));
  const actions = element("td");
  if (project.status === "running" || project.status === "paused") {
    const pausing = project.status === "running";
    const button = element("button", pausing ? "Pause" : "Resume", "secondary");
    button.addEventListener("click", async () => {
      button.disabled = true;
      await api("POST", `/api/projects/${project.id}/${pausing ? "pause" : "resume"}`).catch(showError);
      refresh();
    });
    actions.append(button);
  }
  row.append(name, status, progress, actions);
  return row;
}

async function labelingCard(project) {
  const card = element("article", undefined, "card project-card");
  card.dataset.projectId = project.id;
  const title = element("h2", project.name);
  const kind = element("p", `${project.task_type.replaceAll("_", " ")} · ${project.progress.unlabeled.toLocaleString()} items waiting`, "muted");
  const start = element("a", "Label data", "button");
  start.href = `/projects/${project.id}/label`;
  if (project.status !== "running") {
    start.classList.add("disabled");
    start.removeAttribute("href");
    kind.textContent += ` · ${project.status}`;
  }
  card.append(title, kind);
  const instructions = await api("GET", `/api/projects/${project.id}/instructions`);
  if (instructions.html || instructions.url) {
    const box = element("details", undefined, "instructions");
    box.open = true;
    box.append(element("summary", "Instructions"));
    if (instructions.html) {
      const body = element("div");
      body.innerHTML = instructions.html; // cleaned by the server (nh3): no script, no handlers
      box.append(body);
    }
    if (instructions.url) {
      const link = element("a", instructions.url);
      link.href = instructions.url;
      link.rel = "noopener noreferrer";
      box.append(link);
    }
    card.append(box);
  }
  card.append(start);
  return card;
}

async function allProjects() {
  const projects = [];
  let cursor = null;
  do {
    const page = await api("GET", `/api/projects?limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    projects.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return projects;
}

function showError(failure) {
  document.getElementById("error").textContent = failure.message;
}

async function show() {
  const user = await signedIn();
  if (!user) return;
  const projects = await allProjects();
  const admin = user.workspace_role === "admin";
  document.getElementById("new-project").hidden = !(admin || user.workspace_role === "creator");
  const managed = projects.filter((project) => admin || MANAGING.has(project.role));
  const labeling = projects.filter((project) => project.role && !MANAGING.has(project.role));
  const table = document.getElementById("managed");
  const body = table.querySelector("tbody");
  body.replaceChildren(...managed.map((project) => managedRow(project, show)));
  document.getElementById("managed-section").hidden = managed.length === 0;
  const cards = document.getElementById("labeling");
  cards.replaceChildren(...(await Promise.all(labeling.map(labelingCard))));
  document.getElementById("labeling-section").hidden = labeling.length === 0;
  document.getElementById("empty").hidden = projects.length > 0;
}

show().catch(showError);
