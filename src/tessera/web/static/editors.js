// The editors that label one item of a task type (boxes, polygons, masks, named entities), loaded when a
// page needs one. Each module exports a class with the same contract: static `hint`, `fromLabel(label)`
// and `open(container, { item, classes, colors, onChange })`; then `set(value)`, `chooseClass(name)`,
// `cancel()`, `removeSelected()`, `handleKey(event)`, `payload()`, `summary()`, `close()`.
const EDITORS = {
  object_detection: ["./box_editor.js", "BoxEditor"],
  instance_segmentation: ["./polygon_editor.js", "PolygonEditor"],
  semantic_segmentation: ["./mask_editor.js", "MaskEditor"],
  text_ner: ["./ner_editor.js", "NerEditor"],
};

export const PALETTE = ["#cf222e", "#0969da", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#bc4c00", "#6e7781", "#d1242f"];

// The editor class for a task type, or null for the classification types (labeled in grids).
export async function editorFor(taskType) {
  const entry = EDITORS[taskType];
  return entry ? (await import(entry[0]))[entry[1]] : null;
}

export function classColors(names) {
  return new Map(names.map((name, index) => [name, PALETTE[index % PALETTE.length]]));
}

// The key an editor answers on a page that is not the labeling tool: its own keys, Esc, Delete, 1–9.
export function editorKey(editor, classes, event) {
  if (editor.handleKey(event)) return true;
  if (event.key === "Escape") return editor.cancel();
  if (event.key === "Delete" || event.key === "Backspace") return editor.removeSelected();
  if (!event.ctrlKey && !event.metaKey && /^[1-9]$/.test(event.key) && classes[Number(event.key) - 1]) {
    editor.chooseClass(classes[Number(event.key) - 1]);
    return true;
  }
  return false;
}
