// The import part of a project's details page: a file of labels (COCO, MLTable, CSV, JSON Lines, CoNLL,
// Label Studio) sent as final labels or pre-filled ones; the page shows what was imported and what did not
// match, or every problem of a refused file (record, field, reason).
import { ApiError, upload } from "./api.js";

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML: names come from the file
  if (className) node.className = className;
  return node;
}

function report(done) {
  const box = element("div", undefined, "import-report");
  const facts = [
    `${done.imported} ${done.mode === "final" ? "labels" : "pre-filled labels"} imported of ${done.records} records`,
    `${done.matched} matched an item`,
  ];
  if (done.skipped_already_labeled) facts.push(`${done.skipped_already_labeled} left alone: already labeled`);
  if (done.skipped_out_of_queue) facts.push(`${done.skipped_out_of_queue} left alone: removed or skipped`);
  if (done.classes_added.length) facts.push(`classes added: ${done.classes_added.join(", ")}`);
  box.append(element("p", `Imported: ${facts.join("; ")}.`));
  if (done.unmatched.length) box.append(element("p", `Not matched: ${done.unmatched.join(", ")}`, "muted"));
  if (done.ambiguous.length) box.append(element("p", `Ambiguous: ${done.ambiguous.join(", ")}`, "muted"));
  return box;
}

function problems(failure) {
  const box = element("div", undefined, "import-report error-box");
  box.append(element("p", `Refused, nothing imported: ${failure.message}`));
  const listed = (failure.body && failure.body.details && failure.body.details.problems) || [];
  if (listed.length) {
    const list = element("ul");
    for (const problem of listed) {
      const where = [problem.record != null ? `record ${problem.record}` : "the file", problem.field].filter(Boolean).join(", ");
      list.append(element("li", `${where}: ${problem.reason}`));
    }
    box.append(list);
  }
  return box;
}

export function startImports({ projectId }) {
  const form = $("import-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = form.querySelector(".form-message");
    const fields = form.elements;
    const file = fields.file.files[0];
    if (!file) return;
    const query = new URLSearchParams({ format: fields.format.value, mode: fields.mode.value, missing_classes: fields.missing_classes.value });
    message.textContent = "Importing…";
    try {
      const done = await upload(`/api/projects/${projectId}/imports?${query}`, [file], () => {});
      message.textContent = "Done";
      $("import-report").replaceChildren(report(done));
    } catch (failure) {
      message.textContent = "";
      if (failure instanceof ApiError) $("import-report").replaceChildren(problems(failure));
      else message.textContent = failure.message;
    }
  });
}
