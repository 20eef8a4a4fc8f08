// Bounding boxes on one image, drawn on the image stage's SVG in the image's own pixels. Drag on empty
// space to draw a box (Esc while drawing cancels it and leaves nothing; a box under 1 px is never kept);
// click a box to select it, drag it to move it, drag a corner to resize it; Delete removes the selected
// box; a number key gives the selected box (and the next ones drawn) that class. Every change goes
// through `onChange(boxes)`, which keeps the undo history and the draft.
import { ImageStage, svgElement } from "./image_stage.js";

const MIN_SIZE = 1;
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

export class BoxEditor {
  static hint = "Drag to draw a box; click a box to select it, drag to move, corners to resize.";

  static fromLabel(label) {
    return label.boxes;
  }

  static async open(container, { item, classes, colors, onChange }) {
    return new BoxEditor(await ImageStage.open(container, `/api/items/${item.id}/content`), { classes, colors, onChange });
  }

  constructor(stage, { classes, colors, onChange }) {
    this.stage = stage;
    this.width = stage.width;
    this.height = stage.height;
    this.classes = classes;
    this.colors = colors;
    this.onChange = onChange;
    this.boxes = [];
    this.selected = -1;
    this.currentClass = classes[0];
    this.gesture = null;
    this.svg = stage.svg;
    this.svg.addEventListener("pointerdown", (event) => this.down(event));
    this.svg.addEventListener("pointermove", (event) => this.move(event));
    this.svg.addEventListener("pointerup", (event) => this.up(event));
  }

  point(event) {
    return this.stage.point(event);
  }

  payload() {
    return { boxes: this.boxes.map((box) => ({ ...box })) };
  }

  summary() {
    const count = this.boxes.length;
    return `${count} box${count === 1 ? "" : "es"} · Enter submits (none: "no object")`;
  }

  handleKey(event) {
    return this.stage.handleKey(event);
  }

  close() {
    this.stage.close();
  }

  set(boxes) {
    this.boxes = (boxes || []).map((box) => ({ ...box }));
    if (this.selected >= this.boxes.length) this.selected = -1;
    this.draw();
  }

  commit() {
    this.onChange(this.boxes.map((box) => ({ ...box })));
    this.draw();
  }

  chooseClass(name) {
    this.currentClass = name;
    if (this.selected >= 0) {
      this.boxes[this.selected].class = name;
      this.commit();
    }
  }

  removeSelected() {
    if (this.selected < 0) return false;
    this.boxes.splice(this.selected, 1);
    this.selected = -1;
    this.commit();
    return true;
  }

  cancel() {
    if (!this.gesture || this.gesture.kind !== "draw") return false;
    this.gesture = null;
    this.draw();
    return true;
  }

  down(event) {
    const at = this.point(event);
    const target = event.target;
    this.svg.setPointerCapture(event.pointerId);
    if (target.dataset.handle !== undefined) {
      this.gesture = { kind: "resize", index: Number(target.dataset.index), corner: target.dataset.handle, start: at, original: { ...this.boxes[Number(target.dataset.index)] } };
    } else if (target.dataset.index !== undefined) {
      this.selected = Number(target.dataset.index);
      this.gesture = { kind: "move", index: this.selected, start: at, original: { ...this.boxes[this.selected] } };
      this.draw();
    } else {
      this.selected = -1;
      this.gesture = { kind: "draw", start: at, now: at };
      this.draw();
    }
    event.preventDefault();
  }

  move(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    const at = this.point(event);
    if (gesture.kind === "draw") gesture.now = at;
    else if (gesture.kind === "move") {
      const box = this.boxes[gesture.index];
      box.x = clamp(gesture.original.x + at.x - gesture.start.x, 0, this.width - box.width);
      box.y = clamp(gesture.original.y + at.y - gesture.start.y, 0, this.height - box.height);
    } else {
      const o = gesture.original;
      const left = gesture.corner.includes("w") ? at.x : o.x;
      const right = gesture.corner.includes("e") ? at.x : o.x + o.width;
      const top = gesture.corner.includes("n") ? at.y : o.y;
      const bottom = gesture.corner.includes("s") ? at.y : o.y + o.height;
      Object.assign(this.boxes[gesture.index], {
        x: Math.min(left, right), y: Math.min(top, bottom), width: Math.abs(right - left), height: Math.abs(bottom - top),
      });
    }
    this.draw();
  }

  up(event) {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    this.svg.releasePointerCapture(event.pointerId);
    if (gesture.kind === "draw") {
      const box = this.rect(gesture.start, gesture.now);
      if (box.width >= MIN_SIZE && box.height >= MIN_SIZE) {
        this.boxes.push({ class: this.currentClass, ...box });
        this.selected = this.boxes.length - 1;
        this.commit();
      } else this.draw(); // a click, or a box too small to be one: nothing is kept
      return;
    }
    const box = this.boxes[gesture.index];
    if (box.width < MIN_SIZE || box.height < MIN_SIZE) Object.assign(box, gesture.original);
    this.commit();
  }

  rect(a, b) {
    const round = (value) => Math.round(value * 10) / 10;
    return {
      x: round(Math.min(a.x, b.x)), y: round(Math.min(a.y, b.y)),
      width: round(Math.abs(a.x - b.x)), height: round(Math.abs(a.y - b.y)),
    };
  }

  draw() {
    const stroke = Math.max(1, this.width / 400);
    const handle = Math.max(4, this.width / 80);
    const shapes = this.boxes.map((box, index) => {
      const group = svgElement("g", { class: index === this.selected ? "box selected" : "box" });
      const color = this.colors.get(box.class) || "#0b5cad";
      group.append(svgElement("rect", {
        x: box.x, y: box.y, width: box.width, height: box.height, fill: color, "fill-opacity": 0.12,
        stroke: color, "stroke-width": stroke * (index === this.selected ? 2 : 1), "data-index": index,
      }));
      const label = svgElement("text", { x: box.x + stroke * 2, y: Math.max(box.y - stroke * 2, handle * 2), fill: color, "font-size": handle * 2.5 });
      label.textContent = box.class; // text, never markup
      group.append(label);
      if (index === this.selected) {
        for (const [corner, x, y] of [["nw", box.x, box.y], ["ne", box.x + box.width, box.y], ["sw", box.x, box.y + box.height], ["se", box.x + box.width, box.y + box.height]]) {
          group.append(svgElement("rect", { x: x - handle / 2, y: y - handle / 2, width: handle, height: handle, fill: "#fff", stroke: color, "stroke-width": stroke, "data-index": index, "data-handle": corner, class: `handle handle-${corner}` }));
        }
      }
      return group;
    });
    if (this.gesture && this.gesture.kind === "draw") {
      const box = this.rect(this.gesture.start, this.gesture.now);
      shapes.push(svgElement("rect", { ...box, fill: "none", stroke: "#0b5cad", "stroke-dasharray": stroke * 4, "stroke-width": stroke, class: "drawing" }));
    }
    this.svg.replaceChildren(...shapes);
  }
}
