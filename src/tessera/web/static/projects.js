import { api, currentUser } from "./api.js";

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text; // text, never HTML: names may contain markup
  return td;
}

async function show() {
  const user = await currentUser();
  if (!user) {
    window.location.assign("/sign-in");
    return;
  }
  document.getElementById("who").textContent = `${user.display_name} (${user.workspace_role})`;
  const body = document.querySelector("#projects tbody");
  let cursor = null;
  let count = 0;
  do {
    const page = await api("GET", `/api/projects?limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    for (const project of page.items) {
      const row = document.createElement("tr");
      row.append(cell(project.name), cell(project.task_type.replaceAll("_", " ")), cell(project.status),
        cell(String(project.label_classes.length)));
      body.append(row);
      count += 1;
    }
    cursor = page.next_cursor;
  } while (cursor);
  document.getElementById("empty").hidden = count > 0;
}

show().catch((failure) => {
  document.getElementById("error").textContent = failure.message;
});
