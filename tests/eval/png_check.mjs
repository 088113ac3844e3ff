// Reads a PNG (8-bit RGB or RGBA, non-interlaced, as Chromium writes its
// screenshots) with Node's zlib and prints what the render test checks, as
// JSON: width, height, distinct colours, the share of inked pixels (some
// channel below 224, so neither white nor the page's light grey) and
// how many pixels have each colour given on the command line (#rrggbb).
// usage: node png_check.mjs FILE.png [#rrggbb ...]
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

const [file, ...colours] = process.argv.slice(2);
const buf = readFileSync(file);
const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
if (buf.length < 8 || !buf.subarray(0, 8).equals(SIG)) {
  console.log(JSON.stringify({ error: 'not a PNG' }));
  process.exit(1);
}
let pos = 8, width = 0, height = 0, depth = 0, ctype = 0, interlace = 0;
const idat = [];
while (pos + 8 <= buf.length) {
  const len = buf.readUInt32BE(pos), type = buf.toString('latin1', pos + 4, pos + 8);
  const data = buf.subarray(pos + 8, pos + 8 + len);
  if (type === 'IHDR') {
    width = data.readUInt32BE(0); height = data.readUInt32BE(4);
    depth = data[8]; ctype = data[9]; interlace = data[12];
  } else if (type === 'IDAT') idat.push(data);
  else if (type === 'IEND') break;
  pos += 12 + len;
}
const channels = { 2: 3, 6: 4 }[ctype];
if (depth !== 8 || !channels || interlace) {
  console.log(JSON.stringify({ width, height, error: `unsupported PNG (depth ${depth}, colour type ${ctype}, interlace ${interlace})` }));
  process.exit(1);
}
const raw = inflateSync(Buffer.concat(idat));
const stride = width * channels;
const px = Buffer.alloc(stride * height);
// Undo the per-row filters (PNG spec, section 9).
for (let y = 0; y < height; y++) {
  const f = raw[y * (stride + 1)], src = y * (stride + 1) + 1, dst = y * stride;
  for (let x = 0; x < stride; x++) {
    const a = x >= channels ? px[dst + x - channels] : 0;
    const b = y > 0 ? px[dst - stride + x] : 0;
    const c = x >= channels && y > 0 ? px[dst - stride + x - channels] : 0;
    let v = raw[src + x];
    if (f === 1) v += a;
    else if (f === 2) v += b;
    else if (f === 3) v += (a + b) >> 1;
    else if (f === 4) {
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
    px[dst + x] = v & 255;
  }
}
const want = new Map(colours.map((c) => [parseInt(c.slice(1), 16), 0]));
const seen = new Set();
let ink = 0;
for (let i = 0; i < px.length; i += channels) {
  const rgb = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
  seen.add(rgb);
  if (px[i] < 224 || px[i + 1] < 224 || px[i + 2] < 224) ink++;
  if (want.has(rgb)) want.set(rgb, want.get(rgb) + 1);
}
const counts = {};
for (const c of colours) counts[c.toLowerCase()] = want.get(parseInt(c.slice(1), 16));
console.log(JSON.stringify({
  width, height, distinct_colours: seen.size,
  ink: ink / (width * height), colours: counts,
}));
