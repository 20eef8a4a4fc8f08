// 8-bit grayscale PNGs of class indices, in base64, the way the mask API sends and takes them. A canvas
// only ever gives RGBA PNGs (which the server refuses), so the encoder is written here: the signature, an
// IHDR chunk (colour type 0, bit depth 8), one IDAT chunk (filter byte 0 on each row, compressed with the
// browser's CompressionStream("deflate"), which is the zlib format PNG wants), IEND; each chunk with its
// CRC-32. Decoding goes through the browser's own PNG decoder, without colour conversion, reading the red
// channel (a grayscale value v decodes to v, v, v).
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let bit = 0; bit < 8; bit += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// One chunk: length, type, data, and the CRC of type and data.
function chunk(type, data) {
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i += 1) bytes[4 + i] = type.charCodeAt(i);
  bytes.set(data, 8);
  view.setUint32(8 + data.length, crc32(bytes.subarray(4, 8 + data.length)));
  return bytes;
}

async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).slice(String(reader.result).indexOf(",") + 1));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// The PNG (in base64) of `values`, a Uint8Array of width × height pixel values, row by row.
export async function encodeGrayPng(values, width, height) {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, adaptive filtering, no interlace
  const rows = new Uint8Array((width + 1) * height); // each row: filter type 0 (none), then its pixels
  for (let y = 0; y < height; y += 1) rows.set(values.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [
    new Uint8Array(SIGNATURE), chunk("IHDR", header), chunk("IDAT", await deflate(rows)), chunk("IEND", new Uint8Array(0)),
  ];
  return toBase64(new Blob(parts, { type: "image/png" }));
}

// The pixel values of a grayscale PNG given in base64: { values: Uint8Array, width, height }.
export async function decodeGrayPng(base64) {
  const text = atob(base64.replace(/^data:image\/png;base64,/, ""));
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }), {
    colorSpaceConversion: "none", premultiplyAlpha: "none",
  });
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const values = new Uint8Array(width * height);
  for (let i = 0; i < values.length; i += 1) values[i] = rgba[i * 4];
  return { values, width, height };
}
