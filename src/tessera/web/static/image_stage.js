// One image at full resolution, with an SVG overlay in the image's own pixels, zoom and pan, brightness
// and contrast. The region tools (boxes, polygons, masks) draw on `stage.svg` (and masks on a canvas
// added with `stage.addLayer`); `stage.point(event)` gives the image pixel under the pointer at any zoom.
// Zoom: the mouse wheel (around the pointer), + and - keys, 0 fits the image again. Pan: hold Space and
// drag, or drag with the middle button. Brightness and contrast change only what is shown, never the label.
const SVG = "http://www.w3.org/2000/svg";
const MIN_ZOOM = 1;
const MAX_ZOOM = 16;
const STEP = 1.25;

const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

export function svgElement(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function loaded(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`the image ${src} did not load`));
    image.src = src;
  });
}

export class ImageStage {
  // The stage over `container` once the image at `src` has loaded.
  static async open(container, src) {
    const image = await loaded(src);
    return new ImageStage(container, image);
  }

  constructor(container, image) {
    this.width = image.naturalWidth;
    this.height = image.naturalHeight;
    this.zoom = 1;
    this.offset = { x: 0, y: 0 };
    this.spaceHeld = false;
    this.pan = null;
    this.frame = document.createElement("div");
    this.frame.className = "stage";
    this.inner = document.createElement("div");
    this.inner.className = "zoomed";
    this.image = image;
    image.alt = "";
    image.draggable = false;
    this.svg = svgElement("svg", { viewBox: `0 0 ${this.width} ${this.height}`, class: "overlay", "data-testid": "overlay" });
    this.inner.append(image, this.svg);
    this.frame.append(this.inner);
    container.replaceChildren(this.frame, this.controls());
    this.frame.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    this.frame.addEventListener("pointerdown", (event) => this.panStart(event), { capture: true });
    this.frame.addEventListener("pointermove", (event) => this.panMove(event), { capture: true });
    this.frame.addEventListener("pointerup", (event) => this.panEnd(event), { capture: true });
    this.onKeyUp = (event) => { if (event.key === " ") this.setSpace(false); };
    document.addEventListener("keyup", this.onKeyUp);
  }

  // A canvas (or other element) stacked over the image under the SVG, in the image's pixels.
  addLayer(node) {
    node.classList.add("layer");
    this.inner.insertBefore(node, this.svg);
  }

  controls() {
    const bar = document.createElement("div");
    bar.className = "view-controls";
    const slider = (name, text) => {
      const label = document.createElement("label");
      label.className = "inline";
      label.append(text);
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: "20", max: "300", value: "100", name });
      input.setAttribute("aria-label", text);
      input.addEventListener("input", () => this.filter());
      input.addEventListener("change", () => input.blur()); // then the keys are the tool's again
      label.append(input);
      bar.append(label);
      return input;
    };
    this.brightness = slider("brightness", "Brightness");
    this.contrast = slider("contrast", "Contrast");
    this.zoomText = document.createElement("span");
    this.zoomText.className = "muted zoom-level";
    bar.append(this.zoomText);
    this.showZoom();
    return bar;
  }

  filter() {
    this.image.style.filter = `brightness(${this.brightness.value}%) contrast(${this.contrast.value}%)`;
  }

  // Image pixels under the pointer, clamped to the image.
  point(event) {
    const box = this.svg.getBoundingClientRect();
    return {
      x: clamp(((event.clientX - box.left) * this.width) / box.width, 0, this.width),
      y: clamp(((event.clientY - box.top) * this.height) / box.height, 0, this.height),
    };
  }

  // Screen pixels per image pixel, at the current zoom.
  scale() {
    return this.svg.getBoundingClientRect().width / this.width;
  }

  zoomTo(zoom, around) {
    const frame = this.frame.getBoundingClientRect();
    const at = around || { x: frame.left + frame.width / 2, y: frame.top + frame.height / 2 };
    const next = clamp(zoom, MIN_ZOOM, MAX_ZOOM);
    const local = { x: at.x - frame.left, y: at.y - frame.top };
    this.offset.x = local.x - ((local.x - this.offset.x) * next) / this.zoom;
    this.offset.y = local.y - ((local.y - this.offset.y) * next) / this.zoom;
    this.zoom = next;
    this.place();
  }

  place() {
    const frame = this.frame.getBoundingClientRect();
    this.offset.x = clamp(this.offset.x, frame.width * (1 - this.zoom), 0);
    this.offset.y = clamp(this.offset.y, frame.height * (1 - this.zoom), 0);
    this.inner.style.transform = `translate(${this.offset.x}px, ${this.offset.y}px) scale(${this.zoom})`;
    this.showZoom();
  }

  showZoom() {
    this.zoomText.textContent = `${Math.round(this.zoom * 100)}% · wheel or +/− to zoom, Space+drag to pan, 0 to fit`;
  }

  wheel(event) {
    event.preventDefault();
    this.zoomTo(this.zoom * (event.deltaY < 0 ? STEP : 1 / STEP), { x: event.clientX, y: event.clientY });
  }

  setSpace(held) {
    this.spaceHeld = held;
    this.frame.classList.toggle("panning", held);
  }

  panStart(event) {
    if (!(this.spaceHeld || event.button === 1)) return;
    this.pan = { x: event.clientX, y: event.clientY, offset: { ...this.offset } };
    this.frame.setPointerCapture(event.pointerId);
    event.stopPropagation();
    event.preventDefault();
  }

  panMove(event) {
    if (!this.pan) return;
    this.offset.x = this.pan.offset.x + event.clientX - this.pan.x;
    this.offset.y = this.pan.offset.y + event.clientY - this.pan.y;
    this.place();
    event.stopPropagation();
  }

  panEnd(event) {
    if (!this.pan) return;
    this.pan = null;
    this.frame.releasePointerCapture(event.pointerId);
    event.stopPropagation();
  }

  // The view's keys: + and - zoom, 0 fits, Space pans. True when the key was the view's.
  handleKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return false;
    if (event.key === "+" || event.key === "=") this.zoomTo(this.zoom * STEP);
    else if (event.key === "-") this.zoomTo(this.zoom / STEP);
    else if (event.key === "0") {
      this.zoom = 1;
      this.offset = { x: 0, y: 0 };
      this.place();
    } else if (event.key === " ") this.setSpace(true);
    else return false;
    return true;
  }

  close() {
    document.removeEventListener("keyup", this.onKeyUp);
  }
}
