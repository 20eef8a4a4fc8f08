// Setting the label that counts on a region or span project, from the review page: the labeling tool's
// editor for the item, filled with the label that counts (or a labeler's label, to start from), and a
// Save button. Its keys work while the pointer is over it or it holds the focus: 1–9 choose the class,
// Esc cancels a shape being drawn, Delete removes the selected one, and the view keys zoom and pan.
import { classColors, editorKey } from "./editors.js";

export class ReviewEditor {
  static async open(holder, { Editor, item, classes, label, onSave }) {
    const panel = document.createElement("div");
    panel.className = "review-editor editor-panel";
    panel.tabIndex = -1;
    const area = document.createElement("div");
    area.className = "editor";
    const save = document.createElement("button");
    save.type = "button";
    save.textContent = "Save as the label that counts";
    const hint = document.createElement("p");
    hint.className = "muted";
    hint.textContent = Editor.hint;
    panel.append(hint, area, save);
    holder.replaceChildren(panel);
    const editor = await Editor.open(area, { item, classes, colors: classColors(classes), onChange: () => {} });
    const opened = new ReviewEditor(panel, editor, classes);
    opened.load(label);
    save.addEventListener("click", async () => onSave(await editor.payload()));
    return opened;
  }

  constructor(panel, editor, classes) {
    this.panel = panel;
    this.editor = editor;
    this.classes = classes;
    this.onKey = (event) => {
      if (!this.panel.isConnected) {
        this.close();
        return;
      }
      if (!this.panel.matches(":hover") && !this.panel.contains(document.activeElement)) return;
      if (event.target.closest("input, textarea, select")) return;
      if (editorKey(this.editor, this.classes, event)) event.preventDefault();
    };
    document.addEventListener("keydown", this.onKey);
  }

  // Start from a label as the API gives it (null: empty).
  load(label) {
    this.editor.set(label ? this.editor.constructor.fromLabel(label) : undefined);
  }

  close() {
    document.removeEventListener("keydown", this.onKey);
    this.editor.close();
  }
}
