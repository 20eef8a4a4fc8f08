// A semantic-segmentation mask on one image: one class index per image pixel (0: no class), painted on
// a canvas layer of the image stage in each class's color, at the opacity the toolbar sets. Tools: B brush
// (a filled circle of the brush size, in image pixels, along the whole drag), E eraser (the same, back to
// no class), P polygon fill (click the corners; C, or a click on the first corner, fills the polygon
// with the current class; Esc drops it; Delete or Backspace removes its last corner). [ and ] make the
// brush smaller and larger; 1–9 (in the labeling page) choose the class, and bring the brush back from
// the eraser; zoom and pan keys are the stage's. The index array is the truth while drawing; each
// finished stroke, erase or fill is encoded once as a grayscale PNG and goes through `onChange`, which
// keeps the undo history and the draft.
import { ImageStage, svgElement } from "./image_stage.js";
import { decodeGrayPng, encodeGrayPng } from "./png_gray.js";

const TOOLS = [["brush", "Brush", "B"], ["eraser", "Eraser", "E"], ["polygon", "Polygon fill", "P"]];
const CLOSE_PX = 8; // a click this many screen pixels from the first corner closes the polygon
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

// The pixels of a filled circle `size` pixels across, as dx, dy pairs from its bounding square's corner.
function disc(size) {
  const radius = size / 2;
  const offsets = [];
  for (let dy = 0; dy < size; dy += 1) {
    for (let dx = 0; dx < size; dx += 1) {
      if ((dx + 0.5 - radius) ** 2 + (dy + 0.5 - radius) ** 2 <= radius ** 2) offsets.push(dx, dy);
    }
  }
  return Int32Array.from(offsets);
}

// One RGBA pixel (as a 32-bit word, in ImageData's byte order) per mask value: 0 clear, k classes[k-1]'s.
function pixelWords(classes, colors) {
  const context = new OffscreenCanvas(classes.length + 1, 1).getContext("2d", { willReadFrequently: true });
  classes.forEach((name, index) => {
    context.fillStyle = colors.get(name) || "#0b5cad";
    context.fillRect(index + 1, 0, 1, 1);
  });
  return new Uint32Array(context.getImageData(0, 0, classes.length + 1, 1).data.buffer);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class MaskEditor {
  static hint = "B brush, E eraser, P polygon fill (C or the first corner closes it); [ ] brush size; 1–9 class.";

  static fromLabel(label) { // the API's label is the value: {mask_png, classes}
    return label;
  }

  static async open(container, { item, classes, colors, onChange }) {
    const stage = await ImageStage.open(container, `/api/items/${item.id}/content`);
    return new MaskEditor(stage, container, { classes, colors, onChange });
  }

  constructor(stage, container, { classes, colors, onChange }) {
    Object.assign(this, { stage, width: stage.width, height: stage.height, svg: stage.svg, classes, onChange });
    this.words = pixelWords(classes, colors);
    this.mask = new Uint8Array(this.width * this.height);
    this.canvas = element("canvas", "mask-layer");
    Object.assign(this.canvas, { width: this.width, height: this.height });
    this.context = this.canvas.getContext("2d");
    this.pixels = this.context.createImageData(this.width, this.height);
    this.pixelWords = new Uint32Array(this.pixels.data.buffer);
    stage.addLayer(this.canvas);
    this.currentClass = classes[0];
    this.tool = "brush";
    this.maxSize = clamp(Math.round(Math.max(this.width, this.height) / 4), 20, 400);
    this.size = clamp(Math.round(Math.min(this.width, this.height) / 15), 1, this.maxSize);
    this.stroke = this.polygon = this.hover = null; // a drag being painted, corners being placed, the pointer
    this.version = 0; // bumped by set(): a decode or an encoding from before it is dropped
    this.saving = this.loaded = Promise.resolve();
    for (const [type, handle] of [["pointerdown", this.down], ["pointermove", this.move], ["pointerup", this.up], ["pointercancel", this.up]]) {
      this.svg.addEventListener(type, (event) => handle.call(this, event));
    }
    this.svg.addEventListener("pointerleave", () => { this.hover = null; this.drawGuides(); });
    container.append(this.toolbar());
    this.setTool("brush");
    this.setSize(this.size);
  }

  toolbar() {
    const bar = element("div", "mask-tools");
    this.buttons = new Map(TOOLS.map(([tool, text, key]) => {
      const button = element("button", "tool");
      button.type = "button";
      button.append(element("kbd", undefined, key), text);
      button.addEventListener("click", () => { this.setTool(tool); button.blur(); });
      bar.append(button);
      return [tool, button];
    }));
    const slider = (text, range, apply) => {
      const label = element("label", "inline");
      const input = Object.assign(element("input"), { type: "range", ...range });
      const shown = element("output");
      input.addEventListener("input", () => apply(Number(input.value)));
      input.addEventListener("change", () => input.blur()); // then the keys are the tool's again
      label.append(text, input, shown);
      bar.append(label);
      return [input, shown];
    };
    [this.sizeInput, this.sizeShown] = slider("Brush size", { min: 1, max: this.maxSize }, (size) => this.setSize(size));
    [this.opacityInput, this.opacityShown] = slider("Opacity", { min: 0, max: 100, value: 55 }, (value) => this.setOpacity(value));
    this.setOpacity(55);
    this.message = element("span", "error");
    this.message.setAttribute("role", "status");
    bar.append(this.message);
    return bar;
  }

  setTool(tool) {
    if (tool !== "polygon") this.polygon = null;
    this.tool = tool;
    for (const [name, button] of this.buttons) button.setAttribute("aria-pressed", String(name === tool));
    this.drawGuides();
  }

  setSize(size) {
    this.size = clamp(Math.round(size), 1, this.maxSize);
    this.disc = disc(this.size);
    this.sizeInput.value = String(this.size);
    this.sizeShown.textContent = `${this.size} px`;
    this.drawGuides();
  }

  setOpacity(percent) {
    this.canvas.style.opacity = String(percent / 100);
    this.opacityShown.textContent = `${percent}%`;
  }

  summary() {
    return "Paint the mask · Enter submits (nothing painted: no class)";
  }

  chooseClass(name) {
    if (!this.classes.includes(name)) return;
    this.currentClass = name;
    if (this.tool === "eraser") this.setTool("brush");
  }

  // Esc: drops the polygon being placed. Delete, Backspace: its last corner.
  cancel(lastCorner = false) {
    if (!this.polygon) return false;
    if (lastCorner) this.polygon.pop();
    if (!lastCorner || !this.polygon.length) this.polygon = null;
    this.drawGuides();
    return true;
  }

  removeSelected() {
    return this.cancel(true);
  }

  handleKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return false;
    const key = event.key.toLowerCase();
    if (key === "b") this.setTool("brush");
    else if (key === "e") this.setTool("eraser");
    else if (key === "p") this.setTool("polygon");
    else if (key === "c" && this.polygon) this.closePolygon();
    else if (key === "[") this.setSize(this.size - Math.max(1, Math.round(this.size / 5)));
    else if (key === "]") this.setSize(this.size + Math.max(1, Math.round(this.size / 5)));
    else return this.stage.handleKey(event);
    return true;
  }

  close() {
    this.stage.close();
  }

  // The mask of a value ({mask_png, classes}, or none), its classes renumbered to the project's (a class
  // no longer in the project: none). Decoding takes a moment; painting and payload() wait for it.
  set(value) {
    this.loaded = this.load(value);
  }

  async load(value) {
    const version = ++this.version;
    this.stroke = null;
    this.message.textContent = "";
    this.canvas.dataset.loading = "true";
    try {
      const decoded = value && value.mask_png ? await decodeGrayPng(value.mask_png) : null;
      if (version !== this.version) return;
      if (decoded && (decoded.width !== this.width || decoded.height !== this.height)) {
        throw new Error(`it is ${decoded.width}×${decoded.height} pixels, the image ${this.width}×${this.height}`);
      }
      const table = new Uint8Array(256);
      (value?.classes || []).forEach((name, index) => { table[index + 1] = this.classes.indexOf(name) + 1; });
      this.mask = decoded ? decoded.values.map((at) => table[at]) : new Uint8Array(this.width * this.height);
      this.repaint(0, 0, this.width, this.height);
    } catch (failure) {
      if (version === this.version) this.message.textContent = `The saved mask could not be read: ${failure.message}`;
    } finally {
      if (version === this.version) delete this.canvas.dataset.loading;
    }
  }

  // What Enter would throw away: a polygon fill being placed.
  unfinished() {
    return this.polygon ? "a polygon fill is being placed: close it (C) or drop it (Esc) first" : null;
  }

  async payload() {
    await this.loaded;
    return { mask_png: await encodeGrayPng(this.mask, this.width, this.height), classes: [...this.classes] };
  }

  // A finished stroke, erase or fill: encoded once, in order, then given to onChange.
  commit() {
    const version = this.version;
    const snapshot = this.mask.slice();
    this.saving = this.saving.then(async () => {
      const png = await encodeGrayPng(snapshot, this.width, this.height);
      if (version === this.version) this.onChange({ mask_png: png, classes: [...this.classes] });
    }).catch((failure) => { this.message.textContent = `The mask could not be saved: ${failure.message}`; });
  }

  down(event) {
    if (event.button !== 0 || this.canvas.dataset.loading) return;
    event.preventDefault();
    const at = this.stage.point(event);
    if (this.tool === "polygon") {
      this.addCorner(at);
      return;
    }
    this.svg.setPointerCapture(event.pointerId);
    const value = this.tool === "eraser" ? 0 : this.classes.indexOf(this.currentClass) + 1;
    this.stroke = { value, last: at };
    this.paintLine(at, at, value);
  }

  move(event) {
    this.hover = this.stage.point(event);
    if (this.stroke) {
      this.paintLine(this.stroke.last, this.hover, this.stroke.value);
      this.stroke.last = this.hover;
    }
    this.drawGuides();
  }

  up(event) {
    if (!this.stroke) return;
    this.stroke = null;
    if (this.svg.hasPointerCapture(event.pointerId)) this.svg.releasePointerCapture(event.pointerId);
    this.commit();
  }

  addCorner(at) {
    const corners = this.polygon || [];
    const nearFirst = corners.length >= 3 && Math.hypot(at.x - corners[0].x, at.y - corners[0].y) <= CLOSE_PX / this.stage.scale();
    if (nearFirst) this.closePolygon();
    else {
      this.polygon = [...corners, at];
      this.drawGuides();
    }
  }

  closePolygon() {
    const corners = this.polygon;
    if (corners.length < 3) return; // not a polygon yet: keep placing corners
    this.polygon = null;
    this.fillPolygon(corners, this.classes.indexOf(this.currentClass) + 1);
    this.drawGuides();
    this.commit();
  }

  // Discs of the brush size every quarter size from a to b (image pixels), so a fast drag has no gaps.
  paintLine(a, b, value) {
    const half = this.size / 2;
    const steps = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / Math.max(1, this.size / 4)));
    const { width, height, mask } = this;
    for (let step = 0; step <= steps; step += 1) {
      const left = Math.round(a.x + ((b.x - a.x) * step) / steps - half);
      const top = Math.round(a.y + ((b.y - a.y) * step) / steps - half);
      for (let k = 0; k < this.disc.length; k += 2) {
        const x = left + this.disc[k];
        const y = top + this.disc[k + 1];
        if (x >= 0 && y >= 0 && x < width && y < height) mask[y * width + x] = value;
      }
    }
    const [low, high] = [(at) => Math.floor(at - half) - 1, (at) => Math.ceil(at + half) + 1];
    this.repaint(low(Math.min(a.x, b.x)), low(Math.min(a.y, b.y)), high(Math.max(a.x, b.x)), high(Math.max(a.y, b.y)));
  }

  // Every pixel whose center is inside the polygon (even-odd rule), row by row.
  fillPolygon(corners, value) {
    const top = Math.max(0, Math.floor(Math.min(...corners.map((at) => at.y))));
    const bottom = Math.min(this.height - 1, Math.ceil(Math.max(...corners.map((at) => at.y))));
    for (let y = top; y <= bottom; y += 1) {
      const center = y + 0.5;
      const crossings = [];
      corners.forEach((a, index) => {
        const b = corners[(index + 1) % corners.length];
        if ((a.y <= center) !== (b.y <= center)) crossings.push(a.x + ((center - a.y) * (b.x - a.x)) / (b.y - a.y));
      });
      crossings.sort((p, q) => p - q);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
        const to = Math.min(this.width, Math.ceil(crossings[k + 1] - 0.5));
        if (to > from) this.mask.fill(value, y * this.width + from, y * this.width + to);
      }
    }
    this.repaint(0, top, this.width, bottom + 1);
  }

  // The overlay's pixels from x0, y0 up to (not including) x1, y1, from the mask.
  repaint(x0, y0, x1, y1) {
    const [left, top] = [clamp(x0, 0, this.width), clamp(y0, 0, this.height)];
    const [right, bottom] = [clamp(x1, 0, this.width), clamp(y1, 0, this.height)];
    if (right <= left || bottom <= top) return;
    const { mask, words, pixelWords: pixels } = this;
    for (let y = top; y < bottom; y += 1) {
      for (let i = y * this.width + left, end = y * this.width + right; i < end; i += 1) pixels[i] = words[mask[i]] || 0;
    }
    this.context.putImageData(this.pixels, 0, 0, left, top, right - left, bottom - top);
  }

  // The brush outline under the pointer, or the polygon being placed (on the stage's SVG).
  drawGuides() {
    const line = 1.5 / (this.stage.scale() || 1);
    const shapes = [];
    if (this.polygon) {
      const corners = this.hover ? [...this.polygon, this.hover] : this.polygon;
      const points = corners.map((at) => `${at.x},${at.y}`).join(" ");
      shapes.push(svgElement("polyline", { points, class: "mask-guide", fill: "none", "stroke-width": line }));
      this.polygon.forEach((at, index) => {
        const radius = index === 0 ? CLOSE_PX / (this.stage.scale() || 1) : line * 2;
        shapes.push(svgElement("circle", { cx: at.x, cy: at.y, r: radius, class: index === 0 ? "mask-guide first" : "mask-guide", "stroke-width": line }));
      });
    } else if (this.hover && this.tool !== "polygon") {
      const half = this.size / 2;
      const center = (at) => Math.round(at - half) + half;
      const outline = svgElement("circle", { cx: center(this.hover.x), cy: center(this.hover.y), r: half, class: `mask-guide brush-${this.tool}`, "stroke-width": line });
      if (this.tool === "eraser") outline.style.strokeDasharray = String(line * 3);
      shapes.push(outline);
    }
    this.svg.replaceChildren(...shapes);
  }
}
