// The export part of a project's details page: choose a format and options, start an export (a background
// job), and follow the project's exports until their files are ready to download.
import { api } from "./api.js";

const FOLLOW_MS = 1000;
const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

export function humanBytes(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function exportRow(entry) {
  const row = element("tr");
  row.dataset.exportId = entry.id;
  const file = element("td");
  if (entry.download_url) {
    const link = element("a", `Download (${humanBytes(entry.size_bytes)})`);
    link.href = entry.download_url;
    link.download = entry.file_name;
    file.append(link);
  } else file.append(element("span", entry.state === "failed" ? entry.message : "being made…", "muted"));
  row.append(element("td", `#${entry.id}`), element("td", entry.format), element("td", entry.state, `state state-${entry.state}`),
    element("td", entry.items == null ? "" : entry.items.toLocaleString()), file);
  return row;
}

async function loadExports(projectId) {
  const page = await api("GET", `/api/projects/${projectId}/exports?limit=200`);
  const exports = page.items.slice().reverse(); // newest first
  $("exports").tBodies[0].replaceChildren(...exports.map(exportRow));
  $("exports").hidden = exports.length === 0;
  return exports.some((entry) => entry.state === "pending");
}

async function follow(projectId) {
  while (await loadExports(projectId)) await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
}

export async function startExports({ projectId }) {
  const formats = await api("GET", `/api/projects/${projectId}/export-formats`);
  const select = $("export-format");
  select.replaceChildren(...formats.map((fmt) => {
    const option = element("option", fmt.name);
    option.value = fmt.name;
    option.dataset.summary = fmt.summary;
    return option;
  }));
  const describe = () => { $("export-format-summary").textContent = select.selectedOptions[0]?.dataset.summary || ""; };
  select.addEventListener("change", describe);
  describe();
  const form = $("export-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = form.querySelector(".form-message");
    const fields = form.elements;
    const options = {
      items: fields.items.value, consensus_only: fields.consensus_only.checked,
      include_prelabels: fields.include_prelabels.checked,
      validation_share: Number(fields.validation_share.value), seed: Number(fields.seed.value),
    };
    message.textContent = "";
    try {
      const started = await api("POST", `/api/projects/${projectId}/exports`, { format: select.value, options });
      message.textContent = `Export #${started.id} started`;
      await follow(projectId);
      message.textContent = `Export #${started.id} done`;
    } catch (failure) {
      message.textContent = failure.message;
    }
  });
  await follow(projectId);
}
