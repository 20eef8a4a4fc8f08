// The members part of a project's details page: each member with a role to change or a removal to
// confirm, and adding a member by username (workspace admins see the names offered as they type).
import { api } from "./api.js";

const ROLES = ["owner", "manager", "reviewer", "labeler"];
const $ = (id) => document.getElementById(id);
const state = { projectId: 0, me: null, users: new Map() };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

function button(text, onClick, className = "secondary small") {
  const node = element("button", text, className);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function say(node, text, ok) {
  node.textContent = text;
  node.classList.toggle("ok", ok === true);
  node.classList.toggle("refused", ok === false);
}

const membersPath = (userId = "") => `/api/projects/${state.projectId}/members${userId === "" ? "" : `/${userId}`}`;

async function changeRole(select, member, message) {
  select.disabled = true;
  say(message, "");
  try {
    const changed = await api("PUT", membersPath(member.user.id), { role: select.value });
    member.role = changed.role;
    say(message, "Saved", true);
  } catch (failure) {
    select.value = member.role; // the role it still has
    say(message, failure.message, false);
  } finally {
    select.disabled = false;
  }
}

function confirmRemoval(cell, member, message) {
  const keep = cell.replaceChildren.bind(cell, ...cell.childNodes);
  cell.replaceChildren(
    element("span", `Remove ${member.user.username}?`),
    button("Yes, remove", async () => {
      try {
        await api("DELETE", membersPath(member.user.id));
        await loadMembers();
      } catch (failure) {
        keep();
        say(message, failure.message, false);
      }
    }, "danger small"),
    button("Cancel", () => keep()),
  );
}

function memberRow(member) {
  const row = element("tr");
  row.dataset.userId = member.user.id;
  row.dataset.username = member.user.username;
  const who = element("td");
  who.append(element("strong", member.user.display_name));
  if (member.user.display_name !== member.user.username) who.append(element("span", ` ${member.user.username}`, "muted"));
  if (state.me && member.user.id === state.me.id) who.append(element("span", " (you)", "muted"));
  const select = element("select");
  select.setAttribute("aria-label", `Role of ${member.user.username}`);
  for (const role of ROLES) select.append(new Option(role, role));
  select.value = member.role;
  const message = element("span", "", "form-message");
  const roleCell = element("td");
  roleCell.append(select, message);
  select.addEventListener("change", () => changeRole(select, member, message));
  const actions = element("td", undefined, "actions");
  actions.append(button("Remove", () => confirmRemoval(actions, member, message)));
  row.append(who, roleCell, actions);
  return row;
}

async function loadMembers() {
  const members = await api("GET", membersPath());
  $("members").tBodies[0].replaceChildren(...members.map(memberRow));
}

// Workspace admins may list users: their names are offered as you type.
async function loadUsers() {
  let cursor = null;
  do {
    const page = await api("GET", `/api/users?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const user of page.items) state.users.set(user.username, user);
    cursor = page.next_cursor;
  } while (cursor);
  $("user-names").replaceChildren(...[...state.users.keys()].map((name) => new Option(name)));
}

function setUpAdding() {
  const form = $("add-member-form");
  const input = form.elements.user;
  if (state.me.workspace_role !== "admin") input.removeAttribute("list");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = form.querySelector(".form-message");
    const submit = form.querySelector("button[type=submit]");
    say(message, "");
    submit.disabled = true;
    try {
      const username = input.value.trim();
      if (!username) throw new Error("Give the user's username.");
      const added = await api("PUT", `${membersPath()}/by-username/${encodeURIComponent(username)}`, { role: form.elements.role.value });
      await loadMembers();
      input.value = "";
      say(message, `Saved: ${added.user.username} is a ${added.role}`, true);
    } catch (failure) {
      say(message, failure.message, false);
    } finally {
      submit.disabled = false;
    }
  });
}

export async function startMembers({ projectId, user }) {
  state.projectId = projectId;
  state.me = user;
  await Promise.all([loadMembers(), user.workspace_role === "admin" ? loadUsers() : null]);
  setUpAdding();
}
