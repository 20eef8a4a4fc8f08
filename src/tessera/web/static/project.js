// A project's dashboard for its managers: status with a Running / Paused toggle, and the dashboard's
// numbers as inline SVG bar charts, refreshed every few seconds, with the ML-assist panel (ml_panel.js).
import { api, signedIn } from "./api.js";
import { refreshMlPanel } from "./ml_panel.js";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 5000;
const projectId = Number(document.getElementById("project").dataset.projectId);
const $ = (id) => document.getElementById(id);
const COLORS = { labeled: "#1a7f37", needs_review: "#9a6700", skipped: "#8250df", unlabeled: "#8c959f", removed: "#d0d7de" };

function svgElement(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text; // text, never markup: class and user names
  return node;
}

// One horizontal bar per row: [label, value, color]. Bars are sized against the largest value.
function barChart(rows, { unit = "" } = {}) {
  const height = 26;
  const labelWidth = 180;
  const width = 520;
  const most = Math.max(1, ...rows.map(([, value]) => value));
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${Math.max(1, rows.length) * height}`, role: "img", class: "chart" });
  rows.forEach(([label, value, color], index) => {
    const y = index * height;
    const bar = Math.round(((width - labelWidth - 90) * value) / most);
    const row = svgElement("g", { "data-label": label });
    row.append(
      svgElement("text", { x: 0, y: y + 17, class: "chart-label" }, label.length > 22 ? `${label.slice(0, 21)}…` : label),
      svgElement("rect", { x: labelWidth, y: y + 5, width: Math.max(bar, value ? 2 : 0), height: 16, rx: 3, fill: color || "#0b5cad" }),
      svgElement("text", { x: labelWidth + bar + 6, y: y + 17, class: "chart-value" }, `${value.toLocaleString()}${unit}`),
    );
    svg.append(row);
  });
  if (!rows.length) svg.append(svgElement("text", { x: 0, y: 17, class: "chart-label" }, "nothing yet"));
  return svg;
}

function notify(message, link) {
  const note = document.createElement("p");
  note.className = "notification";
  note.textContent = message;
  if (link) {
    const anchor = document.createElement("a");
    anchor.textContent = link.text;
    anchor.href = link.href;
    if (link.download) anchor.download = link.download;
    note.append(" ", anchor);
  }
  $("notifications").append(note);
}

// Exports that finish while the page is open are announced, with their download; those still being made
// when it opens are said too.
const exportStates = new Map();

async function watchExports() {
  const page = await api("GET", `/api/projects/${projectId}/exports?limit=200`);
  const first = exportStates.size === 0;
  for (const entry of page.items) {
    const before = exportStates.get(entry.id);
    exportStates.set(entry.id, entry.state);
    if (entry.state === "ready" && (before === "pending" || (before === undefined && !first))) {
      notify(`Export #${entry.id} (${entry.format}) is ready —`, { text: "download", href: entry.download_url, download: entry.file_name });
    } else if (entry.state === "failed" && before === "pending") notify(`Export #${entry.id} failed: ${entry.message}`);
    else if (first && entry.state === "pending") notify(`Export #${entry.id} (${entry.format}) is being made.`);
  }
  if (first && !page.items.length) exportStates.set(0, "none");
}

async function refresh() {
  const [project, board] = await Promise.all([
    api("GET", `/api/projects/${projectId}`),
    api("GET", `/api/projects/${projectId}/dashboard`),
  ]);
  $("project-name").textContent = project.name;
  document.title = `${project.name} · Tessera`;
  $("status").textContent = project.status;
  $("status").className = `status status-${project.status}`;
  const toggle = $("toggle");
  toggle.hidden = !["running", "paused"].includes(project.status);
  toggle.textContent = project.status === "running" ? "Pause" : "Resume";
  toggle.dataset.action = project.status === "running" ? "pause" : "resume";
  const states = ["labeled", "needs_review", "skipped", "unlabeled"];
  $("progress-chart").replaceChildren(barChart(states.map((state) => [state.replace("_", " "), board.items[state] || 0, COLORS[state]])));
  const incomplete = board.incomplete;
  $("incomplete-chart").replaceChildren(barChart([
    ["not in a task", incomplete.not_in_a_task], ["in a leased task", incomplete.in_a_leased_task],
    ["queued for more labels", incomplete.queued_for_more_labels],
  ]));
  $("classes-chart").replaceChildren(barChart(board.labels_per_class.map((entry) => [entry.name, entry.items])));
  $("labelers-chart").replaceChildren(barChart(board.labelers.map((entry) => [entry.username, entry.labels])));
  $("queue-chart").replaceChildren(barChart(Object.entries(board.queue_by_kind.items).map(([kind, count]) => [kind, count])));
  $("dashboard").hidden = false;
  $("updated").textContent = new Date().toLocaleTimeString();
  await Promise.all([watchExports(), refreshMlPanel(projectId)]);
}

async function start() {
  if (!(await signedIn())) return;
  $("toggle").addEventListener("click", async () => {
    const action = $("toggle").dataset.action;
    $("toggle").disabled = true;
    try {
      await api("POST", `/api/projects/${projectId}/${action}`);
      notify(action === "pause" ? "Project paused: labelers cannot take or submit work." : "Project running again.");
      await refresh();
    } catch (failure) { // said on the page, never left as an unhandled rejection
      $("error").textContent = failure.message;
    } finally {
      $("toggle").disabled = false;
    }
  });
  await refresh();
  setInterval(() => refresh().catch((failure) => { $("error").textContent = failure.message; }), REFRESH_MS);
}

start().catch((failure) => { $("error").textContent = failure.message; });
