// web/app/qr.js — a QR code encoder written by hand, with no dependency, and two ways to draw
// one (a canvas, or SVG text) with its quiet zone.
//
// Why it exists: the big screen shows a QR code of the phone's join link (`/#pad=CODE`), and
// the page may load nothing from another host and carries no third-party code, so it makes
// the symbol itself. This is ISO/IEC 18004 in byte mode: versions 1–40, error correction
// levels L, M (the default), Q and H, Reed–Solomon over GF(256) (polynomial 0x11D), the
// eight masks scored with the standard four penalty rules (runs of five or more, 2×2
// blocks, the finder-like 1:1:3:1:1 pattern with four light modules beside it, and the
// balance of dark and light), then the format and version information.
//
//   import { encode, toSvg, drawQr } from "./qr.js";
//   const qr = encode("https://example.test/#pad=ABC234");   // {version, size, mask, ecl, modules}
//   drawQr(canvas, qr, { scale: 6 });                          // or element.innerHTML = toSvg(qr)
//
// `modules[row][col]` is true for a dark module. Works in browsers and Node alike (the
// tests compare it module for module with an independent encoder, and decode its PNGs).

/** The error correction levels: their two format bits and table row. */
const LEVELS = { L: { bits: 1, row: 0 }, M: { bits: 0, row: 1 }, Q: { bits: 3, row: 2 }, H: { bits: 2, row: 3 } };

// Per version (index 1–40; index 0 unused), per level in the order L, M, Q, H: the error
// correction codewords in each block, and the number of blocks (ISO/IEC 18004 table 9).
const EC_PER_BLOCK = [
  [-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  [-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [-1, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
];
const BLOCKS = [
  [-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  [-1, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
  [-1, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
];

/** The four penalty rules' weights (N1…N4). */
const N1 = 3;
const N2 = 3;
const N3 = 40;
const N4 = 10;

// ── GF(256) and Reed–Solomon ───────────────────────────────────────────────────────────

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}

function mul(a, b) {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

/** The generator polynomial of `degree` (coefficients after the leading 1, highest first). */
function generator(degree) {
  let poly = [1];
  for (let i = 0; i < degree; i++) {
    // poly × (x − α^i)
    const next = new Array(poly.length + 1).fill(0);
    for (let j = 0; j < poly.length; j++) {
      next[j] ^= poly[j];
      next[j + 1] ^= mul(poly[j], EXP[i]);
    }
    poly = next;
  }
  return poly.slice(1);
}

/** The `degree` error correction codewords of `data` (the remainder of data·x^degree by the generator). */
export function reedSolomon(data, degree) {
  const gen = generator(degree);
  const rem = new Array(degree).fill(0);
  for (const byte of data) {
    const factor = byte ^ rem.shift();
    rem.push(0);
    for (let i = 0; i < degree; i++) rem[i] ^= mul(gen[i], factor);
  }
  return rem;
}

// ── sizes ─────────────────────────────────────────────────────────────────────────────

/** Modules of `version` left for data and error correction (all but the function patterns). */
function rawModules(version) {
  let n = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    n -= (25 * align - 10) * align - 55;
    if (version >= 7) n -= 36;
  }
  return n;
}

/** Data codewords (bytes) of `version` at level `ecl`. */
function dataCodewords(version, ecl) {
  const row = LEVELS[ecl].row;
  return Math.floor(rawModules(version) / 8) - EC_PER_BLOCK[row][version] * BLOCKS[row][version];
}

/** Bits of the character count in byte mode. */
function countBits(version) {
  return version <= 9 ? 8 : 16;
}

/** The most bytes `version` holds at level `ecl` in byte mode. */
export function capacity(version, ecl = "M") {
  return Math.floor((dataCodewords(version, ecl) * 8 - 4 - countBits(version)) / 8);
}

/** The centres of the alignment patterns along one axis. */
function alignmentPositions(version) {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const size = version * 4 + 17;
  const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
  const out = [6];
  for (let pos = size - 7; out.length < count; pos -= step) out.splice(1, 0, pos);
  return out;
}

// ── the data ──────────────────────────────────────────────────────────────────────────

/** UTF-8 bytes of a string (an array of bytes passes through). */
function bytesOf(input) {
  if (typeof input === "string") return Array.from(new TextEncoder().encode(input));
  return Array.from(input, (b) => b & 0xff);
}

/** The data codewords: mode, count, the bytes, terminator, padding. */
function dataStream(bytes, version, ecl) {
  const total = dataCodewords(version, ecl);
  const bits = [];
  const put = (value, n) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, countBits(version));
  for (const b of bytes) put(b, 8);
  const capacityBits = total * 8;
  put(0, Math.min(4, capacityBits - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  const out = [];
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
    out.push(b);
  }
  for (let pad = 0xec; out.length < total; pad ^= 0xec ^ 0x11) out.push(pad);
  return out;
}

/** The data split into blocks, each with its error correction, interleaved. */
function interleaved(data, version, ecl) {
  const row = LEVELS[ecl].row;
  const blocks = BLOCKS[row][version];
  const ecLen = EC_PER_BLOCK[row][version];
  const total = Math.floor(rawModules(version) / 8);
  const shortBlocks = blocks - (total % blocks);
  const shortLen = Math.floor(total / blocks) - ecLen; // data codewords of a short block
  const parts = [];
  for (let i = 0, at = 0; i < blocks; i++) {
    const len = shortLen + (i < shortBlocks ? 0 : 1);
    const chunk = data.slice(at, at + len);
    at += len;
    parts.push({ data: chunk, ec: reedSolomon(chunk, ecLen) });
  }
  const out = [];
  for (let i = 0; i <= shortLen; i++) for (const p of parts) if (i < p.data.length) out.push(p.data[i]);
  for (let i = 0; i < ecLen; i++) for (const p of parts) out.push(p.ec[i]);
  return out;
}

// ── the symbol ────────────────────────────────────────────────────────────────────────

/** A blank symbol of `version`: modules and which of them are function patterns. */
function blank(version) {
  const size = version * 4 + 17;
  const grid = () => Array.from({ length: size }, () => new Array(size).fill(false));
  return { version, size, modules: grid(), fn: grid() };
}

function setFn(s, row, col, dark) {
  s.modules[row][col] = dark;
  s.fn[row][col] = true;
}

/** Finders with their separators, timing patterns, alignment patterns, and the reserved
 * format and version areas (filled in later). */
function drawFunctionPatterns(s) {
  const { size, version } = s;
  for (let i = 0; i < size; i++) {
    setFn(s, 6, i, i % 2 === 0);
    setFn(s, i, 6, i % 2 === 0);
  }
  for (const [r0, c0] of [[3, 3], [3, size - 4], [size - 4, 3]]) {
    for (let dr = -4; dr <= 4; dr++) {
      for (let dc = -4; dc <= 4; dc++) {
        const r = r0 + dr;
        const c = c0 + dc;
        if (r < 0 || r >= size || c < 0 || c >= size) continue;
        const d = Math.max(Math.abs(dr), Math.abs(dc));
        setFn(s, r, c, d !== 2 && d !== 4);
      }
    }
  }
  const align = alignmentPositions(version);
  const last = align.length - 1;
  for (let i = 0; i <= last; i++) {
    for (let j = 0; j <= last; j++) {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue; // the finders' corners
      for (let dr = -2; dr <= 2; dr++) {
        for (let dc = -2; dc <= 2; dc++) setFn(s, align[i] + dr, align[j] + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
      }
    }
  }
  drawFormat(s, 0, "M"); // reserves the areas; the real bits come with the mask
  drawVersion(s);
}

/** The 15 format bits (level and mask, BCH(15,5), XOR 0x5412), both copies, and the dark module. */
function drawFormat(s, mask, ecl) {
  const data = (LEVELS[ecl].bits << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  const bit = (i) => ((bits >>> i) & 1) === 1;
  const { size } = s;
  // Around the top-left finder: bits 0–7 down column 8, bits 8–14 leftwards along row 8.
  for (let i = 0; i <= 5; i++) setFn(s, i, 8, bit(i));
  setFn(s, 7, 8, bit(6));
  setFn(s, 8, 8, bit(7));
  setFn(s, 8, 7, bit(8));
  for (let i = 9; i < 15; i++) setFn(s, 8, 14 - i, bit(i));
  // The second copy: bits 0–7 along row 8 from the right, bits 8–14 up column 8 at the bottom.
  for (let i = 0; i < 8; i++) setFn(s, 8, size - 1 - i, bit(i));
  for (let i = 8; i < 15; i++) setFn(s, size - 15 + i, 8, bit(i));
  setFn(s, size - 8, 8, true);
}

/** The 18 version bits (versions 7 and up, BCH(18,6)), beside the top-right and bottom-left finders. */
function drawVersion(s) {
  const { version, size } = s;
  if (version < 7) return;
  let rem = version;
  for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
  const bits = (version << 12) | rem;
  for (let i = 0; i < 18; i++) {
    const dark = ((bits >>> i) & 1) === 1;
    const a = size - 11 + (i % 3);
    const b = Math.floor(i / 3);
    setFn(s, b, a, dark);
    setFn(s, a, b, dark);
  }
}

/** The codewords in the zigzag from the bottom-right corner, two columns at a time. */
function placeData(s, codewords) {
  const { size } = s;
  const total = codewords.length * 8;
  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5; // skip the vertical timing pattern
    const upward = ((right + 1) & 2) === 0;
    for (let v = 0; v < size; v++) {
      const row = upward ? size - 1 - v : v;
      for (let j = 0; j < 2; j++) {
        const col = right - j;
        if (s.fn[row][col]) continue;
        // Remainder bits past the codewords stay light.
        s.modules[row][col] = i < total && ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
        i++;
      }
    }
  }
}

/** Whether mask `m` flips the module at (row, col). */
const MASKS = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (r, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

/** The symbol's modules with mask `m` applied to the data modules (a copy). */
function masked(s, m) {
  const f = MASKS[m];
  return s.modules.map((line, r) => line.map((dark, c) => (s.fn[r][c] ? dark : dark !== f(r, c))));
}

/**
 * The penalty score of a finished symbol (ISO/IEC 18004 7.8.3): N1 + (run − 5) for each run
 * of five or more same-coloured modules in a row or column; N2 for each 2×2 block of one
 * colour (overlapping blocks each count); N3 for each 1:1:3:1:1 finder-like pattern with
 * four light modules before or after it (dark-light-dark-dark-dark-light-dark-light-light-
 * light-light, or its mirror) in a row or column, inside the symbol; N4 for each full 5 %
 * by which the dark share departs from 50 %.
 * @param {boolean[][]} modules
 */
export function penalty(modules) {
  const size = modules.length;
  let score = 0;
  const at = (vertical, i, j) => (vertical ? modules[j][i] : modules[i][j]);
  for (const vertical of [false, true]) {
    for (let i = 0; i < size; i++) {
      // Rule 1: runs.
      let run = 1;
      for (let j = 1; j <= size; j++) {
        if (j < size && at(vertical, i, j) === at(vertical, i, j - 1)) run++;
        else {
          if (run >= 5) score += N1 + (run - 5);
          run = 1;
        }
      }
      // Rule 3: 1011101 with 0000 after it, or 0000 before it.
      for (let j = 0; j + 10 < size; j++) {
        const w = (k) => at(vertical, i, j + k);
        if (w(1) || !w(4) || w(5) || !w(6) || w(9)) continue; // what both have in common
        const after = w(0) && w(2) && w(3) && !w(7) && !w(8) && !w(10); // 1011101 0000
        const before = !w(0) && !w(2) && !w(3) && w(7) && w(8) && w(10); // 0000 1011101
        if (before || after) score += N3;
      }
    }
  }
  // Rule 2: 2×2 blocks.
  for (let r = 0; r + 1 < size; r++) {
    for (let c = 0; c + 1 < size; c++) {
      const d = modules[r][c];
      if (modules[r][c + 1] === d && modules[r + 1][c] === d && modules[r + 1][c + 1] === d) score += N2;
    }
  }
  // Rule 4: balance.
  let dark = 0;
  for (const line of modules) for (const m of line) if (m) dark++;
  const total = size * size;
  score += N4 * Math.floor(Math.abs(dark * 20 - total * 10) / total);
  return score;
}

/**
 * Encodes `input` (a string, as UTF-8, or bytes) in byte mode. Options: `ecl` ("L", "M",
 * "Q", "H"; default "M"), `minVersion`/`maxVersion` (1–40), `mask` (0–7; default: the one of
 * least penalty, the lowest on a tie). Returns `{version, size, ecl, mask, modules}`; throws a
 * RangeError when the data does not fit in `maxVersion`.
 * @param {string | Uint8Array | number[]} input
 * @param {{ecl?: "L"|"M"|"Q"|"H", minVersion?: number, maxVersion?: number, mask?: number}} [options]
 */
export function encode(input, { ecl = "M", minVersion = 1, maxVersion = 40, mask = -1 } = {}) {
  if (!LEVELS[ecl]) throw new RangeError(`unknown error correction level ${ecl}`);
  if (!(1 <= minVersion && minVersion <= maxVersion && maxVersion <= 40)) throw new RangeError("versions are 1 to 40");
  if (!(mask === -1 || (Number.isInteger(mask) && mask >= 0 && mask <= 7))) throw new RangeError("mask is 0 to 7 (or -1: best)");
  const bytes = bytesOf(input);
  let version = minVersion;
  while (version <= maxVersion && bytes.length > capacity(version, ecl)) version++;
  if (version > maxVersion) throw new RangeError(`${bytes.length} bytes do not fit a version ${maxVersion} QR code at level ${ecl}`);
  const s = blank(version);
  drawFunctionPatterns(s);
  placeData(s, interleaved(dataStream(bytes, version, ecl), version, ecl));
  let best = mask;
  if (best === -1) {
    let least = Infinity;
    for (let m = 0; m < 8; m++) {
      drawFormat(s, m, ecl);
      const p = penalty(masked(s, m));
      if (p < least) {
        least = p;
        best = m;
      }
    }
  }
  drawFormat(s, best, ecl);
  return { version, size: s.size, ecl, mask: best, modules: masked(s, best) };
}

// ── drawing ───────────────────────────────────────────────────────────────────────────

/**
 * The symbol as SVG text: one path of unit squares on a light background with a quiet zone
 * of `border` modules (4, as the standard asks), scaled by the element's CSS size.
 * @param {{size: number, modules: boolean[][]}} qr
 * @param {{border?: number, dark?: string, light?: string, title?: string}} [options]
 */
export function toSvg(qr, { border = 4, dark = "#000", light = "#fff", title = "" } = {}) {
  const n = qr.size + 2 * border;
  let d = "";
  for (let r = 0; r < qr.size; r++) {
    for (let c = 0; c < qr.size; c++) if (qr.modules[r][c]) d += `M${c + border},${r + border}h1v1h-1z`;
  }
  const esc = (t) => String(t).replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges"${title ? ` role="img" aria-label="${esc(title)}"` : ""}>` +
    `<rect width="${n}" height="${n}" fill="${esc(light)}"/><path fill="${esc(dark)}" d="${d}"/></svg>`
  );
}

/**
 * Draws the symbol on `canvas` with a quiet zone of `border` modules, each module `scale`
 * device pixels (default: the largest whole number that fits the canvas's current width,
 * else 4), sizing the canvas to fit. Whole pixels per module keep the edges sharp.
 * @param {HTMLCanvasElement} canvas
 * @param {{size: number, modules: boolean[][]}} qr
 * @param {{scale?: number, border?: number, dark?: string, light?: string}} [options]
 */
export function drawQr(canvas, qr, { scale, border = 4, dark = "#000", light = "#fff" } = {}) {
  const n = qr.size + 2 * border;
  const k = Math.max(1, Math.floor(scale ?? (canvas.width >= n ? canvas.width / n : 4)));
  canvas.width = canvas.height = n * k;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = light;
  ctx.fillRect(0, 0, n * k, n * k);
  ctx.fillStyle = dark;
  for (let r = 0; r < qr.size; r++) {
    for (let c = 0; c < qr.size; c++) if (qr.modules[r][c]) ctx.fillRect((c + border) * k, (r + border) * k, k, k);
  }
  return canvas;
}
