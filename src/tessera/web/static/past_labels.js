// Back to earlier tasks: the labeler's own labels, newest first, one item at a time, to look at and to
// change until a reviewer decides the item. Alt+← goes one label further back, Alt+→ one forward (past
// the newest, back to the current task). Classification: 1–9 set the class (multi-label: toggle it);
// the region and span tools edit as on a new item. Enter saves the change; the server refuses a change
// to a reviewed item, and the page says so.
import { api, ApiError } from "./api.js";

const PAGE = 50;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text; // text, never HTML
  if (className) node.className = className;
  return node;
}

export class PastLabels {
  constructor({ projectId, media, multi, Editor, classes, colors, grid, status }) {
    Object.assign(this, { projectId, media, multi, Editor, classes, colors, grid, status });
    this.labels = [];
    this.index = -1;
    this.exhausted = false;
    this.editor = null;
    this.value = null;
    this.changed = false;
  }

  // One step: +1 older, -1 newer. False when the step leaves the history (back to the current task).
  async step(direction) {
    const next = this.index + direction;
    if (next < 0) return false;
    if (next >= this.labels.length && !this.exhausted) await this.loadMore();
    if (next >= this.labels.length) {
      this.status(this.labels.length ? "That is your first label in this project." : "You have no labels in this project yet.");
      return this.labels.length > 0;
    }
    this.index = next;
    await this.show();
    return true;
  }

  async loadMore() {
    const last = this.labels[this.labels.length - 1];
    const query = `limit=${PAGE}${last ? `&before_id=${last.id}` : ""}`;
    const older = await api("GET", `/api/projects/${this.projectId}/my-annotations?${query}`);
    this.labels.push(...older);
    this.exhausted = older.length < PAGE;
  }

  current() {
    return this.labels[this.index];
  }

  async show() {
    this.closeEditor();
    const annotation = this.current();
    this.changed = false;
    const holder = element("div", undefined, "tile single past");
    holder.dataset.itemId = annotation.item_id;
    const banner = element("div", undefined, "past-banner");
    banner.append(
      element("strong", `Your label ${this.index + 1} back`),
      element("span", ` · ${annotation.path} · item ${annotation.item_state.replace("_", " ")} · Enter saves a change, Alt+→ goes forward`),
    );
    holder.append(banner);
    this.grid.dataset.size = "1";
    this.grid.replaceChildren(holder);
    if (this.Editor) {
      const stage = element("div", undefined, "editor");
      holder.append(stage);
      const item = { id: annotation.item_id, path: annotation.path, text: annotation.text };
      this.editor = await this.Editor.open(stage, {
        item, classes: this.classes, colors: this.colors,
        onChange: () => { this.changed = true; this.report(); },
      });
      this.editor.itemId = annotation.item_id;
      this.editor.set(this.Editor.fromLabel(annotation.label));
    } else {
      this.value = [...(annotation.label.classes || [])];
      if (this.media === "image") {
        const image = element("img");
        image.src = `/api/items/${annotation.item_id}/thumbnail`;
        image.alt = annotation.path;
        holder.append(image);
      } else holder.append(element("div", annotation.text || "", "text-item"));
      holder.append(element("div", undefined, "chips"));
      this.drawChips();
    }
    this.report();
  }

  drawChips() {
    const chips = this.grid.querySelector(".past .chips");
    chips.replaceChildren(...this.value.map((name) => element("span", name, "chip")));
  }

  report() {
    this.status(this.changed ? "Changed, not saved: Enter saves it" : "Your label as you sent it");
  }

  chooseClass(name) {
    if (this.editor) {
      this.editor.chooseClass(name);
      return;
    }
    if (!this.multi) this.value = [name];
    else this.value = this.value.includes(name) ? this.value.filter((other) => other !== name) : [...this.value, name];
    this.changed = true;
    this.drawChips();
    this.report();
  }

  async save() {
    if (!this.changed) return;
    const annotation = this.current();
    const label = this.editor ? await this.editor.payload() : { classes: this.value };
    try {
      const saved = await api("PUT", `/api/annotations/${annotation.id}`, { label });
      Object.assign(annotation, saved);
      this.changed = false;
      this.status("Saved");
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      this.status(`Not saved: ${failure.message}`);
    }
  }

  // The keys of the past view; false for the ones the tool handles itself.
  handleKey(event) {
    const ctrl = event.ctrlKey || event.metaKey;
    if (event.key === "Enter") this.save();
    else if (!ctrl && /^[1-9]$/.test(event.key)) {
      const name = this.classes[Number(event.key) - 1];
      if (name) this.chooseClass(name);
    } else if (this.editor && this.editor.handleKey(event)) return true;
    else if (this.editor && event.key === "Escape") return this.editor.cancel();
    else if (this.editor && (event.key === "Delete" || event.key === "Backspace")) return this.editor.removeSelected();
    else return false;
    return true;
  }

  closeEditor() {
    if (this.editor) this.editor.close();
    this.editor = null;
  }

  close() {
    this.closeEditor();
  }
}
