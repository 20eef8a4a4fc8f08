// Named-entity spans over one text. The text is shown as text (never markup), each span as a <mark> in its
// class's color with the class name as a small superscript tag (CSS, not part of the text). Select text (drag
// or double-click a word), then 1–9 makes it a span of that class: surrounding whitespace is trimmed, and
// the spans the selection overlaps are replaced (a note says so; Ctrl+Z brings them back). Click a span to
// remove it. Tab reaches each span: then 1–9 changes its class and Delete/Backspace removes it. Esc clears
// the selection. Offsets are Python's: Unicode code points, `end` exclusive, although the DOM counts UTF-16
// units. Every change goes through `onChange(spans)`, which keeps the undo history and the draft.

// For each UTF-16 index, the code point index (x.5 inside a surrogate pair); for each code point, its UTF-16 index.
function offsetTables(text) {
  const toUnits = [0];
  const toPoints = [0];
  let units = 0;
  for (const char of text) {
    if (char.length === 2) toPoints.push(toUnits.length - 0.5);
    units += char.length;
    toUnits.push(units);
    toPoints.push(toUnits.length - 1);
  }
  return { toUnits, toPoints };
}

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

export class NerEditor {
  static hint = "Select text (drag or double-click a word), then press a class's number; click a span to remove it.";

  static fromLabel(label) {
    return (label.spans || []).map(({ start, end, class: name }) => ({ start, end, class: name }));
  }

  static async open(container, { item, classes, colors, onChange }) {
    return new NerEditor(container, { text: item.text || "", classes, colors, onChange });
  }

  constructor(container, { text, classes, colors, onChange }) {
    this.text = text;
    this.tables = offsetTables(text);
    this.length = this.tables.toUnits.length - 1; // in code points, as Python's len()
    this.colors = colors;
    this.onChange = onChange;
    this.currentClass = classes[0];
    this.spans = [];
    this.pane = document.createElement("div");
    this.pane.className = "ner-text";
    this.note = document.createElement("p");
    this.note.className = "ner-note";
    this.note.setAttribute("role", "status");
    container.replaceChildren(this.pane, this.note);
    this.pane.addEventListener("click", (event) => this.click(event));
    this.draw();
  }

  payload() {
    return { spans: this.copy() };
  }

  summary() {
    return `${plural(this.spans.length, "span")} · Enter submits (none: "no entity")`;
  }

  handleKey() {
    return false; // 1–9, Esc, Delete, Enter, S and Ctrl+Z are label.js's, which calls back here
  }

  close() {
    this.pane.replaceChildren();
  }

  copy() {
    return this.spans.map((span) => ({ ...span }));
  }

  // Spans from a draft, the undo history or the server: kept in order, within the text and not overlapping.
  set(value) {
    const sorted = (value || [])
      .filter((span) => span && Number.isInteger(span.start) && Number.isInteger(span.end) && typeof span.class === "string")
      .map(({ start, end, class: name }) => ({ start, end, class: name }))
      .sort((a, b) => a.start - b.start || a.end - b.end);
    this.spans = [];
    for (const span of sorted) {
      const last = this.spans[this.spans.length - 1];
      if (span.start >= 0 && span.end > span.start && span.end <= this.length && (!last || span.start >= last.end)) this.spans.push(span);
    }
    this.draw();
  }

  commit(note = "") {
    this.note.textContent = note;
    this.draw();
    this.onChange(this.copy());
  }

  chooseClass(name) {
    this.currentClass = name;
    const chosen = this.selection();
    if (chosen) return this.addSpan(chosen, name);
    const focused = this.focusedIndex();
    if (focused >= 0) {
      this.spans[focused].class = name;
      this.commit();
      this.focusMark(focused);
      return;
    }
    this.note.textContent = "Select some text first (drag, or double-click a word), then press its class's number.";
  }

  addSpan({ start, end }, name) {
    const kept = this.spans.filter((span) => span.end <= start || span.start >= end);
    const replaced = this.spans.length - kept.length;
    kept.push({ start, end, class: name });
    this.spans = kept.sort((a, b) => a.start - b.start);
    window.getSelection().removeAllRanges();
    this.commit(replaced ? `Replaced ${plural(replaced, "overlapping span")} (Ctrl+Z brings it back).` : "");
  }

  cancel() {
    const selection = window.getSelection();
    const inside = selection.rangeCount > 0 && !selection.isCollapsed && selection.containsNode(this.pane, true);
    const hadNote = this.note.textContent !== "";
    this.note.textContent = "";
    if (inside) selection.removeAllRanges();
    return inside || hadNote;
  }

  removeSelected() {
    const focused = this.focusedIndex();
    if (focused < 0) return false;
    this.removeAt(focused);
    return true;
  }

  removeAt(index) {
    const [span] = this.spans.splice(index, 1);
    this.commit(`Removed “${this.slice(span.start, span.end)}” (${span.class}).`);
  }

  click(event) {
    const mark = event.target.closest("mark.ner-span");
    if (!mark || !window.getSelection().isCollapsed) return; // the end of a drag that selected text
    this.removeAt(Number(mark.dataset.index));
  }

  focusedIndex() {
    const active = document.activeElement;
    return active && active.matches("mark.ner-span") && this.pane.contains(active) ? Number(active.dataset.index) : -1;
  }

  focusMark(index) {
    const mark = this.pane.querySelector(`mark[data-index="${index}"]`);
    if (mark) mark.focus();
  }

  slice(start, end) {
    return this.text.slice(this.tables.toUnits[start], this.tables.toUnits[end]);
  }

  // The pane's text nodes, in order, hold exactly the text: spans in marks, the gaps between them bare.
  draw() {
    const nodes = [];
    let at = 0;
    this.spans.forEach((span, index) => {
      if (span.start > at) nodes.push(document.createTextNode(this.slice(at, span.start)));
      const mark = document.createElement("mark");
      mark.className = "ner-span";
      mark.dataset.index = String(index);
      mark.dataset.class = span.class; // shown by CSS (attr()), so never part of the selectable text
      mark.style.setProperty("--span-color", this.colors.get(span.class) || "#6e7781");
      mark.tabIndex = 0;
      mark.title = `${span.class} · click to remove`;
      mark.append(document.createTextNode(this.slice(span.start, span.end)));
      nodes.push(mark);
      at = span.end;
    });
    if (at < this.length) nodes.push(document.createTextNode(this.slice(at, this.length)));
    this.pane.replaceChildren(...nodes);
  }

  // The UTF-16 index in the text of a DOM boundary point (any node, any direction), clamped to the pane.
  unitsAt(node, offset) {
    const whole = document.createRange();
    whole.selectNodeContents(this.pane);
    const side = whole.comparePoint(node, offset);
    if (side !== 0) return side < 0 ? 0 : this.text.length;
    whole.setEnd(node, offset);
    return whole.toString().length;
  }

  // The selection in the pane as code points, whitespace trimmed; null when there is none.
  selection() {
    const selection = window.getSelection();
    if (!selection.rangeCount || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0); // a Range runs forwards whichever way the selection was made
    let from = this.unitsAt(range.startContainer, range.startOffset);
    let to = this.unitsAt(range.endContainer, range.endOffset);
    while (from < to && /\s/.test(this.text[from])) from += 1;
    while (to > from && /\s/.test(this.text[to - 1])) to -= 1;
    const start = Math.floor(this.tables.toPoints[from]);
    const end = Math.ceil(this.tables.toPoints[to]); // half a surrogate pair counts as its whole character
    return end > start ? { start, end } : null;
  }
}
