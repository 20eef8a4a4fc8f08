// An image of a grid page at full resolution, over the page: the grid shows thumbnails, and this loads
// the original only when asked (Z or a double-click). Zoom, pan, brightness and contrast as in the
// editors; Esc or Z closes it.
import { ImageStage } from "./image_stage.js";

export async function openZoom(item, onClose) {
  const dialog = document.createElement("div");
  dialog.className = "zoom-view";
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-label", `${item.path} at full resolution`);
  const title = document.createElement("div");
  title.className = "zoom-title";
  title.textContent = `${item.path} · Esc or Z closes`; // text, never markup
  const close = document.createElement("button");
  close.type = "button";
  close.className = "secondary";
  close.textContent = "Close";
  close.addEventListener("click", onClose);
  title.append(" ", close);
  const holder = document.createElement("div");
  holder.className = "editor";
  dialog.append(title, holder);
  document.body.append(dialog);
  const stage = await ImageStage.open(holder, `/api/items/${item.id}/content`);
  return {
    handleKey: (event) => stage.handleKey(event),
    close() {
      stage.close();
      dialog.remove();
    },
  };
}
