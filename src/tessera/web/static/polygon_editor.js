// Polygons on one image (instance segmentation), drawn on the image stage's SVG in the image's own pixels
// (rounded to 0.1 px). Click to place the points of a new polygon (a dashed line follows the pointer);
// click its first point, or press C, to close it (Enter submits the task and never closes a polygon);
// Backspace removes the last point placed; Esc drops the polygon being drawn and leaves nothing. A polygon
// needs 3 distinct points that enclose an area (the server refuses others): a flat one is not closed and
// the line under the image says why. Click a polygon to select it, drag it to move it, drag one of its
// vertices to move that vertex, Alt+click or double-click a vertex to remove it (3 stay at least); Delete
// removes the selected polygon; a number key gives the selected polygon (and the next ones drawn) that
// class. Handles keep their size on screen at any zoom. Every finished change goes through
// `onChange(polygons)`, which keeps the undo history and the draft.
import { ImageStage, svgElement } from "./image_stage.js";

const HANDLE_PX = 5; // a vertex handle's radius, in screen pixels
const CLOSE_PX = 9; // a click this near the first point (screen pixels) closes the polygon
const DOUBLE_MS = 500; // two presses on one vertex within this time: a double-click
const MIN_AREA = 0.001; // px²: a polygon with less encloses nothing (the server refuses it)
const FLAT = "Not closed: a polygon needs 3 distinct points, not on one line, that enclose an area. Keep drawing.";
const KEEP = "Not removed: a polygon keeps at least 3 points that enclose an area.";
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);
const round = (value) => Math.round(value * 10) / 10;
const copy = (polygons) => polygons.map((polygon) => ({ class: polygon.class, points: polygon.points.map(([x, y]) => [x, y]) }));
const same = (a, b) => a[0] === b[0] && a[1] === b[1];

// The points as the server keeps them: a repeat of the point before dropped, and a last point equal to the first.
function ring(points) {
  const kept = points.filter((point, index) => index === 0 || !same(point, points[index - 1]));
  if (kept.length > 1 && same(kept[0], kept[kept.length - 1])) kept.pop();
  return kept;
}

// True for 3 distinct points or more enclosing an area (the shoelace formula): what the server accepts.
function enclosesArea(points) {
  if (new Set(points.map(([x, y]) => `${x},${y}`)).size < 3) return false;
  let twice = 0;
  points.forEach(([x, y], index) => {
    const [nextX, nextY] = points[(index + 1) % points.length];
    twice += x * nextY - nextX * y;
  });
  return Math.abs(twice) / 2 > MIN_AREA;
}

export class PolygonEditor {
  static hint = "Click to place points, the first point or C to close; click a polygon to select it, drag it or its vertices.";

  static fromLabel(label) {
    return label.polygons;
  }

  static async open(container, { item, classes, colors, onChange }) {
    const stage = await ImageStage.open(container, `/api/items/${item.id}/content`);
    return new PolygonEditor(stage, container, { classes, colors, onChange });
  }

  constructor(stage, container, { classes, colors, onChange }) {
    this.stage = stage;
    this.width = stage.width;
    this.height = stage.height;
    this.colors = colors;
    this.onChange = onChange;
    this.polygons = [];
    this.selected = -1;
    this.currentClass = classes[0];
    this.drawing = null; // { points, pointer } while a polygon is being drawn
    this.gesture = null; // { kind: "move" | "vertex", index, vertex, start, original } while dragging
    this.notice = "";
    this.preview = null;
    this.lastPress = null;
    this.message = Object.assign(document.createElement("p"), { className: "polygon-message" });
    this.message.setAttribute("role", "status"); // read out: why a polygon was not closed
    container.append(this.message);
    this.svg = stage.svg;
    this.svg.addEventListener("pointerdown", (event) => this.down(event));
    this.svg.addEventListener("pointermove", (event) => this.move(event));
    this.svg.addEventListener("pointerup", (event) => this.up(event));
    this.svg.addEventListener("pointercancel", (event) => this.up(event));
    stage.frame.addEventListener("wheel", () => this.draw()); // after the stage's zoom: resize the handles
  }

  // Image pixels per screen pixel, at the current zoom.
  unit() {
    const scale = this.stage.scale();
    return scale > 0 ? 1 / scale : 1;
  }

  // What Enter would throw away: a polygon being drawn.
  unfinished() {
    return this.drawing ? "a polygon is being drawn: close it (C) or drop it (Esc) first" : null;
  }

  payload() {
    return { polygons: copy(this.polygons) };
  }

  summary() {
    const count = this.polygons.length;
    return `${count} polygon${count === 1 ? "" : "s"} · Enter submits (none: "no object")`;
  }

  handleKey(event) {
    const plain = !(event.ctrlKey || event.metaKey || event.altKey);
    if (this.drawing && plain) {
      if (event.key === "Escape") return this.cancel();
      if (event.key === "Backspace" || event.key === "Delete") return this.removeSelected();
      if (event.key.toLowerCase() === "c") return this.finish() || true; // the key is the editor's either way
    }
    const used = this.stage.handleKey(event);
    if (used) this.draw(); // the zoom may have changed: the handles keep their size on screen
    return used;
  }

  close() {
    this.stage.close();
  }

  set(polygons) {
    this.polygons = copy((polygons || []).filter((polygon) => polygon.points && polygon.points.length));
    this.gesture = null; // an undo while dragging: the drag ends
    if (this.selected >= this.polygons.length) this.selected = -1;
    this.draw();
  }

  commit() {
    this.onChange(copy(this.polygons));
    this.draw();
  }

  chooseClass(name) {
    this.currentClass = name;
    if (this.selected >= 0 && !this.drawing) {
      this.polygons[this.selected].class = name;
      this.commit();
    } else this.draw();
  }

  // While drawing: the last point placed (the whole polygon with its only point); else the selected polygon.
  removeSelected() {
    this.notice = "";
    if (this.drawing) {
      this.drawing.points.pop();
      if (!this.drawing.points.length) this.drawing = null;
      this.draw();
      return true;
    }
    if (this.selected < 0) return false;
    this.polygons.splice(this.selected, 1);
    this.selected = -1;
    this.gesture = null;
    this.commit();
    return true;
  }

  // Esc: drops the polygon being drawn, or puts back what is being dragged.
  cancel() {
    this.notice = "";
    if (this.drawing) this.drawing = null;
    else if (this.gesture) {
      this.polygons[this.gesture.index] = this.gesture.original;
      this.gesture = null;
    } else return false;
    this.draw();
    return true;
  }

  down(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    this.notice = "";
    const at = this.stage.point(event);
    if (this.drawing) return this.place(at);
    const target = event.target;
    const index = target.dataset.index === undefined ? -1 : Number(target.dataset.index);
    if (index < 0) {
      this.selected = -1;
      this.drawing = { points: [], pointer: at };
      return this.place(at);
    }
    const original = copy([this.polygons[index]])[0];
    const vertex = Number(target.dataset.vertex);
    if (target.dataset.vertex === undefined) {
      this.selected = index;
      this.gesture = { kind: "move", index, start: at, original };
    } else if (this.pressedTwice(index, vertex, event.timeStamp) || event.altKey) return this.removeVertex(index, vertex);
    else this.gesture = { kind: "vertex", index, vertex, start: at, original };
    this.svg.setPointerCapture(event.pointerId);
    this.draw();
  }

  // A click while drawing: closes the polygon on its first point, else places one more point.
  place(at) {
    const points = this.drawing.points;
    this.drawing.pointer = at;
    if (points.length > 1 && this.near(at, points[0], CLOSE_PX)) return this.finish();
    const point = [round(at.x), round(at.y)];
    if (!points.length || !same(point, points[points.length - 1])) points.push(point);
    this.draw();
  }

  near(at, [x, y], pixels) {
    return Math.hypot(at.x - x, at.y - y) <= pixels * this.unit();
  }

  // Closes the polygon being drawn when the server would take it; else says why, and drawing goes on.
  finish() {
    const points = ring(this.drawing.points);
    if (!enclosesArea(points)) {
      this.notice = FLAT;
      this.draw();
      return false;
    }
    this.polygons.push({ class: this.currentClass, points });
    this.selected = this.polygons.length - 1;
    this.drawing = null;
    this.commit();
    return true;
  }

  removeVertex(index, vertex) {
    this.lastPress = null;
    const polygon = this.polygons[index];
    const points = polygon.points.filter((_, other) => other !== vertex);
    this.selected = index;
    if (points.length < 3 || !enclosesArea(points)) {
      this.notice = KEEP;
      this.draw();
      return;
    }
    polygon.points = points;
    this.commit();
  }

  // A second press on the same vertex soon after the first: a double-click (the redraw on each press
  // leaves the browser no element to send a dblclick to).
  pressedTwice(index, vertex, time) {
    const last = this.lastPress;
    this.lastPress = { index, vertex, time };
    return Boolean(last) && last.index === index && last.vertex === vertex && time - last.time < DOUBLE_MS;
  }

  move(event) {
    if (this.drawing) {
      this.drawing.pointer = this.stage.point(event);
      if (!this.preview) return this.draw();
      this.preview.setAttribute("x2", this.drawing.pointer.x);
      this.preview.setAttribute("y2", this.drawing.pointer.y);
      return;
    }
    const gesture = this.gesture;
    if (!gesture) return;
    const at = this.stage.point(event);
    const polygon = this.polygons[gesture.index];
    if (gesture.kind === "vertex") polygon.points[gesture.vertex] = [round(at.x), round(at.y)];
    else {
      const xs = gesture.original.points.map(([x]) => x);
      const ys = gesture.original.points.map(([, y]) => y);
      const dx = clamp(at.x - gesture.start.x, -Math.min(...xs), this.width - Math.max(...xs));
      const dy = clamp(at.y - gesture.start.y, -Math.min(...ys), this.height - Math.max(...ys));
      polygon.points = gesture.original.points.map(([x, y]) => [round(x + dx), round(y + dy)]);
    }
    this.draw();
  }

  up(event) {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    if (this.svg.hasPointerCapture(event.pointerId)) this.svg.releasePointerCapture(event.pointerId);
    const polygon = this.polygons[gesture.index];
    polygon.points = ring(polygon.points);
    if (!enclosesArea(polygon.points)) {
      this.polygons[gesture.index] = gesture.original; // a vertex dragged onto the others: put back
      this.notice = KEEP;
    }
    if (JSON.stringify(this.polygons[gesture.index]) === JSON.stringify(gesture.original)) return this.draw();
    this.lastPress = null; // a drag, then a press: no double-click
    this.commit();
  }

  help() {
    if (this.drawing) {
      const count = this.drawing.points.length;
      return `${count} point${count === 1 ? "" : "s"} · click the first point or press C to close · Backspace removes the last point · Esc cancels`;
    }
    if (this.selected >= 0) return "Drag the polygon or a vertex · Alt+click or double-click a vertex removes it · Delete removes the polygon";
    return "";
  }

  draw() {
    const unit = this.unit();
    this.preview = null;
    const shapes = this.polygons.map((polygon, index) => this.shape(polygon, index, unit));
    if (this.drawing && this.drawing.points.length) shapes.push(this.sketch(unit));
    this.svg.replaceChildren(...shapes);
    this.message.textContent = this.notice || this.help();
    this.message.classList.toggle("refused", Boolean(this.notice));
  }

  shape(polygon, index, unit) {
    const selected = index === this.selected;
    const color = this.colors.get(polygon.class) || "#0b5cad";
    const group = svgElement("g", { class: selected ? "polygon selected" : "polygon" });
    group.append(svgElement("polygon", {
      points: polygon.points.join(" "), fill: color, "fill-opacity": selected ? 0.3 : 0.15, stroke: color,
      "stroke-width": unit * (selected ? 3 : 2), "stroke-linejoin": "round", "data-index": index,
    }));
    const top = polygon.points.reduce((best, point) => (point[1] < best[1] ? point : best));
    const size = 13 * unit;
    const y = top[1] - 5 * unit < size ? top[1] + size + 5 * unit : top[1] - 5 * unit;
    const label = svgElement("text", {
      x: top[0], y, fill: color, "font-size": size, "font-weight": 600, stroke: "#fff", "stroke-width": 3 * unit, "paint-order": "stroke",
    });
    label.textContent = polygon.class; // text, never markup
    group.append(label);
    if (selected) {
      polygon.points.forEach(([x, y], vertex) => group.append(svgElement("circle", {
        cx: x, cy: y, r: HANDLE_PX * unit, fill: "#fff", stroke: color, "stroke-width": 1.5 * unit,
        class: "vertex", "data-index": index, "data-vertex": vertex,
      })));
    }
    return group;
  }

  // The polygon being drawn: its points, the first one larger (click it to close), a dashed line to the pointer.
  sketch(unit) {
    const { points, pointer } = this.drawing;
    const color = this.colors.get(this.currentClass) || "#0b5cad";
    const group = svgElement("g", { class: "drawing", "pointer-events": "none" });
    const line = { fill: "none", stroke: color, "stroke-width": 2 * unit, "stroke-linejoin": "round" };
    group.append(svgElement("polyline", { points: points.join(" "), ...line }));
    const [lastX, lastY] = points[points.length - 1];
    this.preview = svgElement("line", { x1: lastX, y1: lastY, x2: pointer.x, y2: pointer.y, ...line, "stroke-dasharray": `${6 * unit} ${4 * unit}`, class: "preview" });
    group.append(this.preview);
    points.forEach(([x, y], index) => group.append(svgElement("circle", {
      cx: x, cy: y, r: (index === 0 ? HANDLE_PX + 1 : HANDLE_PX - 2) * unit, fill: index === 0 ? "#fff" : color,
      stroke: color, "stroke-width": 1.5 * unit, class: index === 0 ? "point first" : "point",
    })));
    return group;
  }
}
