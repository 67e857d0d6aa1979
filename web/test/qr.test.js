// web/app/qr.js against independent judges, so a broken encoder fails here:
// * the Reed–Solomon example of ISO/IEC 18004 (annex I) and its format bits, by hand;
// * PyPI's `qrcode` (installed into a temp venv when python3 is here): for many inputs, every
//   version 1–40 at level M and the other levels too, each of the eight masks, the module
//   matrices must be equal bit for bit; its penalty function (`util.lost_point`) must score
//   our symbols as ours does, and our automatic mask must be the one of least penalty by its
//   count; both must pick the same smallest version;
// * Debian's `zbarimg` (zbar-tools, installed by scripts/install-tools --test) must read the
//   PNGs we render (quiet zone included) back to the very text, for URLs like the big
//   screen's, every mask, versions with version information and with 16-bit counts.
// A missing python3 or zbarimg skips that part (said in the output); a failing install fails.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { encode, capacity, penalty, reedSolomon, toSvg } from "../app/qr.js";

const T = { timeout: 120000 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chorus-qr-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function which(bin) {
  return spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
}

// ── the independent encoder: python-qrcode in a temp venv ────────────────────────────────

let python = null;
before(() => {
  if (!which("python3")) return;
  const venv = path.join(tmp, "venv");
  execFileSync("python3", ["-m", "venv", venv], { stdio: "pipe" });
  const py = path.join(venv, "bin/python");
  execFileSync(py, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "qrcode==8.2"], { stdio: "pipe" });
  python = py;
}, { timeout: 120000 });

/** Runs `job` through python-qrcode: see PY below. */
function py(job) {
  const out = execFileSync(python, ["-c", PY], { input: JSON.stringify(job), maxBuffer: 256 << 20 });
  return JSON.parse(out);
}

const PY = String.raw`
import json, sys
import qrcode
from qrcode import util, constants
job = json.load(sys.stdin)
LEVEL = {"L": constants.ERROR_CORRECT_L, "M": constants.ERROR_CORRECT_M, "Q": constants.ERROR_CORRECT_Q, "H": constants.ERROR_CORRECT_H}
def rows(m):
    return ["".join("1" if x else "0" for x in r) for r in m]
out = []
if job["kind"] == "symbols":
    for c in job["cases"]:
        qr = qrcode.QRCode(version=c["version"], error_correction=LEVEL[c["ecl"]], border=0, mask_pattern=c["mask"])
        qr.add_data(util.QRData(bytes.fromhex(c["hex"]), mode=util.MODE_8BIT_BYTE))
        qr.make(fit=c["version"] is None)
        out.append({"version": qr.version, "rows": rows(qr.get_matrix())})
elif job["kind"] == "penalty":
    for m in job["symbols"]:
        out.append(util.lost_point([[ch == "1" for ch in r] for r in m]))
json.dump(out, sys.stdout)
`;

const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const rows = (qr) => qr.modules.map((r) => r.map((m) => (m ? "1" : "0")).join(""));
/** `n` bytes of printable text, different for each seed. */
function text(n, seed) {
  let s = "";
  let x = seed * 2654435761 >>> 0;
  while (s.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += String.fromCharCode(33 + (x >>> 16) % 94);
  }
  return s;
}

function skipWithout(t, what, ok) {
  if (ok) return false;
  t.skip(`${what} not available here`);
  return true;
}

test("Reed–Solomon: the standard's example (1-M, 16 data codewords, 10 EC codewords)", () => {
  const data = [0x10, 0x20, 0x0c, 0x56, 0x61, 0x80, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11];
  assert.deepEqual(reedSolomon(data, 10), [0xa5, 0x24, 0xd4, 0xc1, 0xed, 0x36, 0xc7, 0x87, 0x2c, 0x55]);
});

test("format information of level M, mask 5 (the standard's 100000011001110 after masking)", () => {
  const qr = encode("x", { mask: 5 });
  // Bits 14…0 of the first copy: row 8 from column 0 (bits 14–9 at columns 0–5, bit 8 at
  // column 7), then column 8 upwards (bit 7 at row 8, bit 6 at row 7, bits 5–0 at rows 5–0).
  const m = qr.modules;
  const bits = [m[8][0], m[8][1], m[8][2], m[8][3], m[8][4], m[8][5], m[8][7], m[8][8], m[7][8], m[5][8], m[4][8], m[3][8], m[2][8], m[1][8], m[0][8]];
  assert.equal(bits.map(Number).join(""), "100000011001110");
  assert.equal(m[qr.size - 8][8], true, "the dark module");
});

test("sizes, capacities and the data that does not fit", () => {
  assert.equal(encode("").version, 1);
  assert.equal(encode("a".repeat(capacity(1))).version, 1);
  assert.equal(encode("a".repeat(capacity(1) + 1)).version, 2);
  assert.equal(capacity(1, "M"), 14);
  assert.equal(capacity(10, "M"), 213);
  assert.equal(capacity(40, "L"), 2953);
  assert.equal(encode("a".repeat(200), { minVersion: 10 }).size, 57);
  assert.throws(() => encode("a".repeat(capacity(3) + 1), { maxVersion: 3 }), RangeError);
  assert.throws(() => encode("a", { ecl: "X" }), RangeError);
  const svg = toSvg(encode("hi"), { title: "a <code>" });
  assert.match(svg, /^<svg [^>]*viewBox="0 0 29 29"/);
  assert.match(svg, /aria-label="a &#60;code&#62;"/);
});

test("python-qrcode: the same modules for every version at level M, every mask, and the other levels", T, (t) => {
  if (skipWithout(t, "python3", python)) return;
  const cases = [];
  // Every version at M, filled to capacity (the longest data each holds), the masks in turn.
  for (let v = 1; v <= 40; v++) cases.push({ input: text(capacity(v, "M"), v), version: v, ecl: "M", mask: v % 8 });
  // Every mask on a few versions (1, 2, 6, 7 with version information, 10 with a 16-bit count).
  for (const v of [1, 2, 6, 7, 10]) {
    for (let m = 0; m < 8; m++) cases.push({ input: text(Math.max(1, capacity(v, "M") - m), 100 + v * 8 + m), version: v, ecl: "M", mask: m });
  }
  // The other levels, every version (a partly filled one every third version).
  for (const ecl of ["L", "Q", "H"]) {
    for (let v = 1; v <= 40; v++) {
      const n = v % 3 === 0 ? Math.max(1, capacity(v, ecl) - 7) : capacity(v, ecl);
      cases.push({ input: text(n, 1000 + v), version: v, ecl, mask: (v * 3) % 8 });
    }
  }
  // Text with UTF-8 and a URL like the big screen's.
  cases.push({ input: "Chorus — ünïcode ✓ 🎮", version: 3, ecl: "M", mask: 2 });
  cases.push({ input: "http://127.0.0.1:8080/#pad=AB2C34", version: 3, ecl: "M", mask: 6 });
  const theirs = py({ kind: "symbols", cases: cases.map((c) => ({ hex: hex(c.input), version: c.version, ecl: c.ecl, mask: c.mask })) });
  for (const [i, c] of cases.entries()) {
    const ours = encode(c.input, { ecl: c.ecl, minVersion: c.version, maxVersion: c.version, mask: c.mask });
    assert.equal(ours.size, c.version * 4 + 17);
    assert.deepEqual(rows(ours), theirs[i].rows, `version ${c.version}-${c.ecl}, mask ${c.mask}, ${Buffer.byteLength(c.input)} bytes`);
  }
  t.diagnostic(`${cases.length} symbols equal, module for module`);
});

test("python-qrcode: the same smallest version; its penalty count agrees with ours; our mask is its least", T, (t) => {
  if (skipWithout(t, "python3", python)) return;
  const inputs = ["", "A", "http://127.0.0.1:8080/#pad=AB2C34", "https://chorus.example/#pad=ZZZZZZ", text(77, 5), text(150, 6), text(300, 7), text(700, 8)];
  const fit = py({ kind: "symbols", cases: inputs.map((s) => ({ hex: hex(s), version: null, ecl: "M", mask: 0 })) });
  for (const [i, s] of inputs.entries()) assert.equal(encode(s).version, fit[i].version, `version for ${s.length} bytes`);
  let checked = 0;
  for (const s of inputs) {
    const all = [];
    for (let m = 0; m < 8; m++) all.push(encode(s, { mask: m }));
    const theirs = py({ kind: "penalty", symbols: all.map(rows) });
    const ours = all.map((qr) => penalty(qr.modules));
    assert.deepEqual(ours, theirs, `penalties of the eight masks for ${s.length} bytes`);
    const least = theirs.indexOf(Math.min(...theirs));
    assert.equal(encode(s).mask, least, `the mask chosen for ${s.length} bytes`);
    checked += 8;
  }
  t.diagnostic(`${checked} penalty scores equal`);
});

// ── zbarimg reads our PNGs ───────────────────────────────────────────────────────────────

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** An 8-bit greyscale PNG of the symbol: `scale` pixels a module, a quiet zone of 4. */
function png(qr, scale = 4, border = 4) {
  const n = (qr.size + 2 * border) * scale;
  const raw = Buffer.alloc(n * (n + 1), 255);
  for (let y = 0; y < n; y++) {
    raw[y * (n + 1)] = 0; // filter: none
    const r = Math.floor(y / scale) - border;
    for (let x = 0; x < n; x++) {
      const c = Math.floor(x / scale) - border;
      if (r >= 0 && r < qr.size && c >= 0 && c < qr.size && qr.modules[r][c]) raw[y * (n + 1) + 1 + x] = 0;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(n, 0);
  ihdr.writeUInt32BE(n, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

test("zbarimg decodes our PNGs: URLs, every mask, versions 1–10 and beyond", T, (t) => {
  if (skipWithout(t, "zbarimg (zbar-tools)", which("zbarimg"))) return;
  const cases = [
    { input: "http://127.0.0.1:8080/#pad=AB2C34" },
    { input: "https://chorus.example.org/#pad=XY7Q9K" },
    ...Array.from({ length: 8 }, (_, m) => ({ input: `http://192.168.1.20:8080/#pad=MASK${m}Z`, mask: m })),
    ...[1, 2, 4, 6, 7, 9, 10, 14, 20].map((v) => ({ input: text(capacity(v, "M"), 50 + v), version: v })),
  ];
  for (const [i, c] of cases.entries()) {
    const qr = encode(c.input, { mask: c.mask ?? -1, minVersion: c.version ?? 1 });
    if (c.version) assert.equal(qr.version, c.version);
    const file = path.join(tmp, `qr-${i}.png`);
    fs.writeFileSync(file, png(qr));
    const res = spawnSync("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file], { encoding: "utf8" });
    assert.equal(res.status, 0, `zbarimg found no code in version ${qr.version} mask ${qr.mask}: ${res.stderr}`);
    assert.equal(res.stdout.replace(/\n$/, ""), c.input, `version ${qr.version}, mask ${qr.mask}`);
  }
  t.diagnostic(`${cases.length} symbols read back by zbarimg`);
});

test("zbarimg reads nothing from a broken symbol (the judge can say no)", T, (t) => {
  if (skipWithout(t, "zbarimg (zbar-tools)", which("zbarimg"))) return;
  const qr = encode("http://127.0.0.1:8080/#pad=AB2C34", { mask: 3 });
  // Wipe the three finder patterns: no reader can locate the symbol.
  for (const [r0, c0] of [[0, 0], [0, qr.size - 7], [qr.size - 7, 0]]) {
    for (let r = 0; r < 7; r++) for (let c = 0; c < 7; c++) qr.modules[r0 + r][c0 + c] = false;
  }
  const file = path.join(tmp, "broken.png");
  fs.writeFileSync(file, png(qr));
  const res = spawnSync("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file], { encoding: "utf8" });
  assert.notEqual(res.status, 0);
  assert.equal(res.stdout, "");
});
