// web/assets/make-sounds.mjs — makes the coin arena's sounds, so every sound the app plays
// is made by the project (no samples from elsewhere) and stays a few KB.
//
// Run: `node web/assets/make-sounds.mjs` (writes coin.wav, bump.wav and win.wav next to
// itself). The output is deterministic: the same script writes the same bytes, so the
// committed files can be checked by running it again (`git diff` shows nothing).
//
// Format: PCM WAV, mono, 16-bit, 11,025 Hz (blips need no more, and it keeps them small).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RATE = 11025;
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A mono 16-bit PCM WAV file holding `samples` (floats in -1..1). */
function wav(samples) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8);
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28); // bytes per second
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** `secs` of silence to mix into. */
const blank = (secs) => new Float64Array(Math.round(secs * RATE));

/** Adds a tone into `out` from `start` s for `len` s: `freq` Hz (or a function of t), a
 * soft-square wave (a few odd harmonics), attack 5 ms, exponential decay `decay` s. */
function tone(out, { start, len, freq, gain = 0.5, decay = 0.08, harmonics = 3 }) {
  const at = Math.round(start * RATE);
  let phase = 0;
  for (let i = 0; i < Math.round(len * RATE) && at + i < out.length; i++) {
    const t = i / RATE;
    const f = typeof freq === "function" ? freq(t) : freq;
    phase += (2 * Math.PI * f) / RATE;
    let s = 0;
    for (let k = 0; k < harmonics; k++) s += Math.sin(phase * (2 * k + 1)) / (2 * k + 1);
    const env = Math.min(1, t / 0.005) * Math.exp(-t / decay) * Math.min(1, (len - t) / 0.01);
    out[at + i] += s * gain * env;
  }
  return out;
}

/** Adds a burst of seeded noise (a small LCG: no Math.random, so the bytes never change). */
function noise(out, { start, len, gain = 0.3, decay = 0.03, seed = 7 }) {
  const at = Math.round(start * RATE);
  let x = seed;
  let low = 0;
  for (let i = 0; i < Math.round(len * RATE) && at + i < out.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const white = (x / 0xffffffff) * 2 - 1;
    low += (white - low) * 0.35; // a one-pole low-pass: a thud, not a hiss
    out[at + i] += low * gain * Math.exp(-i / RATE / decay);
  }
  return out;
}

const sounds = {
  // Two quick rising notes (B5, E6): the classic pickup chirp.
  "coin.wav": () => {
    const out = blank(0.16);
    tone(out, { start: 0, len: 0.05, freq: 988, gain: 0.35, decay: 0.2 });
    tone(out, { start: 0.05, len: 0.11, freq: 1319, gain: 0.35, decay: 0.05 });
    return out;
  },
  // A low thud sliding down from 180 Hz, with a soft knock of noise.
  "bump.wav": () => {
    const out = blank(0.16);
    tone(out, { start: 0, len: 0.16, freq: (t) => 180 - 500 * t, gain: 0.55, decay: 0.05, harmonics: 2 });
    noise(out, { start: 0, len: 0.06, gain: 0.5, decay: 0.015 });
    return out;
  },
  // A rising arpeggio, C5 E5 G5 and a held C6.
  "win.wav": () => {
    const out = blank(0.56);
    const notes = [523.25, 659.25, 783.99];
    notes.forEach((f, i) => tone(out, { start: i * 0.09, len: 0.12, freq: f, gain: 0.3, decay: 0.1 }));
    tone(out, { start: 0.27, len: 0.29, freq: 1046.5, gain: 0.3, decay: 0.14 });
    tone(out, { start: 0.27, len: 0.29, freq: 523.25, gain: 0.15, decay: 0.14 });
    return out;
  },
};

for (const [name, make] of Object.entries(sounds)) {
  const bytes = wav(Array.from(make()));
  fs.writeFileSync(path.join(HERE, name), bytes);
  console.log(`${name}: ${bytes.length} bytes`);
}
