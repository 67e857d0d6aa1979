// web/app/arena-view.js — <chorus-arena>, the coin arena drawn on a canvas.
//
// Why it exists: the realtime game needs a view that answers a key press at once, shows
// the other players moving smoothly although states arrive 20 times a second, and plays on
// a phone as well as with a keyboard. It takes a connected Chorus client and the game
// module itself (`/games/arena.js`, the file the server runs), subscribes to the room's
// broadcasts, sends inputs when the held direction changes, and draws:
// the field scaled to the element's width (crisp at any devicePixelRatio), coins, discs with
// names and scores, the dazed look, a HUD (time left, scores) and the result. The netcode
// (prediction, reconciliation, interpolation) lives in ./netcode.js as pure functions.
//
// API (the app codes against it):
//   el.start({chorus, room, me, game, initial, readOnly?})  initial = the svc.rooms.state reply
//   el.readOnly = true                           sends nothing (a big screen whose seat a phone
//                                                steers); its own disc drawn like the others
//   el.stop()                                    unsubscribes, stops the loops
//   el.positions()                               {[uid]: {x, y}} as last drawn
//   event "arena-over" (CustomEvent, detail = the final state, bubbles) once it ends
// Removing the element from the document stops it too.

import {
  corrected,
  direction,
  faded,
  interpolate,
  INTERP_DELAY_MS,
  isOver,
  predict,
  prediction,
  pressed,
  pushSnapshot,
  reconcile,
  stamp,
  tickMs,
} from "./netcode.js";
import { holdable } from "./hold.js";

const ASSETS = new URL("../assets/", import.meta.url);
const SOUNDS = ["coin", "bump", "win"];
const MUTE_KEY = "chorus.arena.muted";
/** A tap on the on-screen pad still holds its direction this long (a nudge, not nothing). */
const MIN_HOLD_MS = 150;

/** Keys (KeyboardEvent.code, so WASD works on any layout) and the direction each holds. */
const KEYS = {
  ArrowLeft: "left",
  ArrowRight: "right",
  ArrowUp: "up",
  ArrowDown: "down",
  KeyA: "left",
  KeyD: "right",
  KeyW: "up",
  KeyS: "down",
};

/** Disc colours by seat, and for the store's skins. */
const PALETTE = ["#4cc9f0", "#f72585", "#b8f35d", "#ff9f1c", "#9b5de5", "#00f5d4", "#ff6b6b", "#ffd6a5"];
const SKINS = { "skin-red": "#ff4d4d", "skin-blue": "#3a86ff", "skin-gold": "#ffc300" };

const TEMPLATE = `
<style>
  :host { display: block; position: relative; outline: none; --ink: #e8ecf8;
    font: 14px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  .hud { display: flex; align-items: center; gap: .5rem; flex-wrap: wrap; margin-bottom: .45rem; }
  .time, .scores li, .mute, .pad button, .card { color: var(--ink); }
  .time { font-variant-numeric: tabular-nums; font-weight: 700; font-size: 1.1rem; min-width: 4.2ch;
    text-align: center; background: #1b2440; border: 1px solid #2c3a66; padding: .12rem .5rem; border-radius: .45rem; }
  .time.low { color: #ffb4a8; border-color: #8a3b33; }
  .scores { display: flex; flex-wrap: wrap; gap: .35rem; list-style: none; margin: 0; padding: 0; flex: 1; min-width: 0; }
  .scores li { display: flex; align-items: center; gap: .35rem; background: #1b2440; border: 1px solid #2c3a66;
    border-radius: 1rem; padding: .1rem .6rem .1rem .4rem; white-space: nowrap; max-width: 12rem; }
  .scores li.out { opacity: .5; text-decoration: line-through; }
  .scores .name { overflow: hidden; text-overflow: ellipsis; }
  .scores li.me { border-color: #e8ecf8; font-weight: 700; }
  .scores b { font-variant-numeric: tabular-nums; }
  .dot { width: .7rem; height: .7rem; border-radius: 50%; flex: none; box-shadow: inset 0 0 0 1px #0006; }
  button { font: inherit; color: inherit; cursor: pointer; }
  .mute { display: inline-flex; align-items: center; gap: .35rem; min-height: 36px; padding: .2rem .65rem;
    background: #1b2440; border: 1px solid #2c3a66; border-radius: .45rem; }
  .mute[aria-pressed="true"] { color: #9aa6c8; }
  .mute svg { width: 18px; height: 18px; }
  .mute[aria-pressed="true"] .on, .mute[aria-pressed="false"] .off { display: none; }
  button:focus-visible { outline: 3px solid #ffd23f; outline-offset: 2px; }
  .stage { position: relative; border-radius: 12px; overflow: hidden; background: #0f1a33;
    box-shadow: 0 0 0 1px #2c3a66, 0 6px 24px #0006; touch-action: none; -webkit-tap-highlight-color: transparent; }
  :host(:focus) .stage { box-shadow: 0 0 0 3px #ffd23f, 0 6px 24px #0006; }
  canvas { display: block; width: 100%; aspect-ratio: 16 / 9; }
  .result { position: absolute; inset: 0; display: grid; place-items: center; background: #080c1ca8; padding: .5rem; }
  .result[hidden] { display: none; }
  .card { background: #18213f; border: 1px solid #3a4a85; border-radius: 14px; padding: .8rem 1.4rem 1rem;
    text-align: center; box-shadow: 0 10px 30px #0008; max-width: 90%; }
  .card h2 { margin: 0 0 .15rem; font-size: clamp(1.3rem, 4vw, 2rem); }
  .card p { margin: 0 0 .5rem; color: #b9c3e3; }
  .card ol { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem .9rem; justify-content: center; }
  .card li { display: flex; align-items: center; gap: .35rem; }
  .help { margin: .45rem 0 0; opacity: .75; font-size: .85rem; }
  .pad { display: none; grid-template-areas: ". up ." "left . right" ". down ."; grid-template-columns: repeat(3, 68px);
    grid-template-rows: repeat(3, 60px); gap: 6px; justify-content: center; margin-top: .6rem;
    touch-action: none; user-select: none; -webkit-user-select: none; }
  .pad button { display: grid; place-items: center; background: #1f2a4d; border: 1px solid #3a4a85; border-radius: 14px;
    touch-action: none; -webkit-touch-callout: none; -webkit-tap-highlight-color: transparent; }
  .pad button.held { background: #3a4a85; border-color: #ffd23f; }
  .pad svg { width: 26px; height: 26px; fill: #e8ecf8; }
  .pad .up { grid-area: up; } .pad .down { grid-area: down; } .pad .left { grid-area: left; } .pad .right { grid-area: right; }
  @media (pointer: coarse), (max-width: 700px) { .pad { display: grid; } .keys { display: none; } }
  :host([readonly]) .pad, :host([readonly]) .keys { display: none !important; }
  .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
</style>
<div class="hud">
  <span class="time" aria-label="Time left">1:00</span>
  <ol class="scores" aria-label="Scores"></ol>
  <button class="mute" type="button" aria-pressed="false" title="Mute sound">
    <svg class="on" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3 9v6h4l5 4V5L7 9H3zm13.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z"/></svg>
    <svg class="off" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3 9v6h4l5 4V5L7 9H3zm18.4 6.6L19.8 17 17 14.2 14.2 17l-1.4-1.4 2.8-2.8-2.8-2.8 1.4-1.4 2.8 2.8 2.8-2.8 1.4 1.4-2.8 2.8z"/></svg>
    <span>Mute</span>
  </button>
</div>
<div class="stage">
  <canvas aria-hidden="true"></canvas>
  <div class="result" hidden><div class="card" role="status"><h2></h2><p></p><ol></ol></div></div>
</div>
<div class="pad" role="group" aria-label="Direction pad">
  <button type="button" class="up" data-dir="up" aria-label="Move up"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5l8 10H4z"/></svg></button>
  <button type="button" class="left" data-dir="left" aria-label="Move left"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 12l10-8v16z"/></svg></button>
  <button type="button" class="right" data-dir="right" aria-label="Move right"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M19 12L9 20V4z"/></svg></button>
  <button type="button" class="down" data-dir="down" aria-label="Move down"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 19L4 9h16z"/></svg></button>
</div>
<p class="help keys">Move with the arrow keys or W A S D (click the field first). Grab coins; bump a richer player to steal one.</p>
<div class="sr" aria-live="polite"></div>
`;

/** m:ss of `ms` (rounded up to the second). */
function clockText(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** An image from the assets folder (drawn once it has loaded). */
function sprite(name) {
  const img = new Image();
  img.decoding = "async";
  img.src = new URL(name, ASSETS).href;
  return img;
}

export class ChorusArena extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = TEMPLATE;
    this.$ = (sel) => root.querySelector(sel);
    this.canvas = this.$("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.sprites = { coin: sprite("coin.svg"), disc: sprite("disc.svg") };
    this.running = false;
    this.keys = new Map(); // key code -> direction
    this.pads = new Map(); // held pad button (hold.js id) -> direction
    this.muted = readMuted();
    this.audio = null;
    this.last = {};
    this.bindInput();
  }

  connectedCallback() {
    if (!this.hasAttribute("tabindex")) this.tabIndex = 0;
    if (!this.hasAttribute("role")) this.setAttribute("role", "application");
    if (!this.hasAttribute("aria-label")) {
      this.setAttribute("aria-label", "Coin arena. Move with the arrow keys or W A S D; grab coins, first to 10 wins.");
    }
    window.addEventListener("blur", this.onWindowBlur);
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.$(".stage"));
    this.resize();
    this.$(".mute").setAttribute("aria-pressed", String(this.muted));
  }

  disconnectedCallback() {
    this.stop();
    window.removeEventListener("blur", this.onWindowBlur);
    if (this.resizer) this.resizer.disconnect();
  }

  /** Starts showing `room` as user `me` from `initial` (the svc.rooms.state reply). */
  start({ chorus, room, me, game, initial, readOnly }) {
    this.stop();
    if (readOnly !== undefined) this.readOnly = readOnly;
    Object.assign(this, { chorus, room, me, game });
    this.A = game.ARENA;
    this.dt = tickMs(game);
    const players = (initial && initial.players) || [];
    this.names = new Map(players.map((p) => [p.id, p.name]));
    this.pred = prediction();
    this.clock = { offset: null };
    this.snaps = [];
    this.seq = null;
    this.state = null;
    this.live = false;
    this.fetching = false;
    this.offset = { x: 0, y: 0 };
    this.nextN = 0;
    this.heading = { dx: 0, dy: 0 };
    this.keys.clear();
    this.pads.clear();
    this.pops = [];
    this.ended = false;
    this.last = {};
    this.hudKey = "";
    this.drawn = null;
    this.lastFrame = 0;
    this.$(".result").hidden = true;
    this.running = true;
    if (initial && initial.state) this.accept(initial.seq ?? 0, initial.state, performance.now());
    this.unsub = chorus.rooms.onState(room, (data) => this.onBroadcast(data), {
      restored: () => this.onRestored(),
      error: (err) => this.say(`The room's updates stopped: ${err && err.message ? err.message : "refused"}.`),
    });
    const loop = (now) => {
      if (!this.running) return;
      this.draw(now);
      this.raf = requestAnimationFrame(loop);
    };
    this.raf = requestAnimationFrame(loop);
  }

  /** Unsubscribes and stops the drawing loop (the last frame stays on the canvas). */
  stop() {
    this.running = false;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    if (this.unsub) {
      try {
        this.unsub();
      } catch {
        // already gone
      }
    }
    this.unsub = null;
  }

  /** Read-only: no input goes out (held keys are let go first); own disc is interpolated. */
  get readOnly() {
    return this.hasAttribute("readonly");
  }

  set readOnly(on) {
    if (on) this.release();
    this.toggleAttribute("readonly", Boolean(on));
  }

  /** Each player's position as last drawn: own predicted, others interpolated. */
  positions() {
    if (!this.drawn && this.state) this.drawn = this.frame(performance.now());
    const out = {};
    for (const [id, p] of Object.entries(this.drawn || {})) out[id] = { x: p.x, y: p.y };
    return out;
  }

  // ── the room's states ─────────────────────────────────────────────────────────────

  onBroadcast(data) {
    if (!this.running || !data || typeof data.seq !== "number") return;
    if (!data.state) return void this.refetch(); // a game that hides: fetch our own view
    const gap = this.live && this.seq !== null && data.seq > this.seq + 1;
    this.live = true;
    this.accept(data.seq, data.state, performance.now());
    if (gap) this.refetch();
  }

  /** The subscription came back after a reconnect: inputs may have been lost (a takeover
   * drops them), so the held direction goes again with a new number; the state is fetched. */
  onRestored() {
    if (!this.running) return;
    this.live = false;
    this.sendDir();
    this.refetch();
  }

  /** Asks for the room's latest state (one request at a time). */
  async refetch() {
    if (this.fetching || !this.running) return;
    this.fetching = true;
    try {
      const r = await this.chorus.rooms.state(this.room);
      if (this.running && r && r.state && typeof r.seq === "number") this.accept(r.seq, r.state, performance.now());
    } catch {
      // the next broadcast or restore tries again
    } finally {
      this.fetching = false;
    }
  }

  /** Takes the authoritative state of tick `seq`, received at `recvAt`. */
  accept(seq, state, recvAt) {
    if (this.seq !== null && seq <= this.seq) return;
    const prev = this.state;
    const s = stamp(this.clock, seq, this.dt, recvAt);
    this.clock = s.clock;
    this.snaps = pushSnapshot(this.snaps, seq, s.at, state);
    const before = predict(this.game, this.pred, recvAt);
    this.pred = reconcile(this.game, this.pred, state, this.me, s.at);
    this.offset = corrected(this.offset, before, predict(this.game, this.pred, recvAt));
    this.seq = seq;
    this.state = state;
    const own = state.players.find((p) => p.id === this.me);
    if (own) this.nextN = Math.max(this.nextN, own.last_n + 1);
    this.noticeChanges(prev, state, recvAt);
    this.updateHud();
    if (isOver(this.game, state)) this.finish(state);
  }

  /** Sounds and little effects from what changed between two states. */
  noticeChanges(prev, state, now) {
    if (!prev) return;
    const key = (c) => `${c[0]},${c[1]}`;
    const still = new Set(state.coins.map(key));
    for (const c of prev.coins) if (!still.has(key(c))) this.pops.push({ x: c[0], y: c[1], t0: now });
    this.pops = this.pops.slice(-12);
    const was = prev.players.find((p) => p.id === this.me);
    const is = state.players.find((p) => p.id === this.me);
    if (was && is) {
      if (is.score > was.score) this.play("coin");
      if (is.daze > 0 && !(was.daze > 0)) this.play("bump");
    }
  }

  /** The end: the result over the field, a sound, and the `arena-over` event (once). */
  finish(state) {
    if (this.ended) return;
    this.ended = true;
    this.keys.clear();
    this.pads.clear();
    this.markPads();
    const card = this.$(".card");
    const scores = [...state.players].sort((a, b) => b.score - a.score);
    let title;
    if (state.draw) title = "Draw!";
    else if (state.winner === this.me) title = "You win!";
    else title = `${this.nameOf(state.winner)} wins`;
    const byGoal = scores.some((p) => p.score >= this.A.goal);
    const left = state.players.filter((p) => !p.out).length <= 1 && state.players.length > 1;
    const why = byGoal ? `First to ${this.A.goal} coins` : left ? "Everyone else left" : "Time's up";
    card.querySelector("h2").textContent = title;
    card.querySelector("p").textContent = why;
    const list = card.querySelector("ol");
    list.replaceChildren(
      ...scores.map((p) => {
        const li = document.createElement("li");
        const dot = document.createElement("span");
        dot.className = "dot";
        dot.style.background = this.colorOf(p);
        li.append(dot, `${this.nameOf(p.id)}${p.id === this.me ? " (you)" : ""}: ${p.score}`);
        return li;
      }),
    );
    this.$(".result").hidden = false;
    this.say(`${title}. ${why}.`);
    if (state.winner === this.me) this.play("win");
    this.dispatchEvent(new CustomEvent("arena-over", { detail: state, bubbles: true, composed: true }));
  }

  // ── input ─────────────────────────────────────────────────────────────────────────

  bindInput() {
    this.addEventListener("keydown", (e) => {
      const d = KEYS[e.code];
      if (!d || e.ctrlKey || e.metaKey || e.altKey || this.readOnly) return;
      e.preventDefault(); // arrows must not scroll the page
      this.unlockAudio();
      if (!this.keys.has(e.code)) {
        this.keys.set(e.code, d);
        this.steer();
      }
    });
    this.addEventListener("keyup", (e) => {
      if (this.keys.delete(e.code)) this.steer();
    });
    this.addEventListener("blur", () => this.release());
    this.onWindowBlur = () => this.release();
    this.$(".stage").addEventListener("pointerdown", () => {
      this.focus({ preventScroll: true });
      this.unlockAudio();
    });
    for (const btn of this.shadowRoot.querySelectorAll(".pad button")) {
      const d = btn.dataset.dir;
      holdable(btn, {
        press: (id) => {
          this.unlockAudio();
          this.pads.set(id, d);
          this.steer();
        },
        release: (id) => {
          if (this.pads.delete(id)) this.steer();
        },
        minHoldMs: MIN_HOLD_MS,
      });
    }
    this.$(".mute").addEventListener("click", () => {
      this.muted = !this.muted;
      this.$(".mute").setAttribute("aria-pressed", String(this.muted));
      try {
        localStorage.setItem(MUTE_KEY, this.muted ? "1" : "0");
      } catch {
        // storage refused: the toggle still works for this page
      }
      if (!this.muted) this.unlockAudio();
    });
  }

  /** Lets go of every held direction (focus lost). */
  release() {
    if (this.keys.size === 0 && this.pads.size === 0) return;
    this.keys.clear();
    this.pads.clear();
    this.steer();
  }

  /** Sends the held direction when it changed. */
  steer() {
    this.markPads();
    const held = [...this.keys.values(), ...this.pads.values()];
    const dir = direction(held);
    if (dir.dx === this.heading.dx && dir.dy === this.heading.dy) return;
    this.heading = dir;
    this.sendDir();
  }

  /** Sends the current direction as a new input (numbered above the last applied). */
  sendDir() {
    if (!this.running || this.ended || !this.state || this.readOnly) return;
    const own = this.state.players.find((p) => p.id === this.me);
    if (!own || own.out) return;
    const input = { n: this.nextN++, dx: this.heading.dx, dy: this.heading.dy };
    try {
      this.chorus.rooms.send(this.room, input);
    } catch {
      // not even queued (the send buffer is full while reconnecting): the restored
      // subscription resends the direction held then
    }
    this.pred = pressed(this.pred, input, performance.now());
  }

  markPads() {
    const held = new Set(this.pads.values());
    for (const btn of this.shadowRoot.querySelectorAll(".pad button")) btn.classList.toggle("held", held.has(btn.dataset.dir));
  }

  // ── sound ─────────────────────────────────────────────────────────────────────────

  /** Makes the audio context on the first gesture (browsers refuse sound before one). */
  unlockAudio() {
    if (this.audio || this.muted) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    this.audio = { ctx, buffers: {} };
    for (const name of SOUNDS) {
      fetch(new URL(`${name}.wav`, ASSETS))
        .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(r.statusText))))
        .then((bytes) => ctx.decodeAudioData(bytes))
        .then((buf) => (this.audio.buffers[name] = buf))
        .catch(() => {
          // no sound for this one; the game goes on
        });
    }
  }

  play(name) {
    if (this.muted || !this.audio || !this.audio.buffers[name]) return;
    const { ctx } = this.audio;
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    const src = ctx.createBufferSource();
    src.buffer = this.audio.buffers[name];
    const gain = ctx.createGain();
    gain.gain.value = 0.7;
    src.connect(gain).connect(ctx.destination);
    src.start();
  }

  // ── drawing ───────────────────────────────────────────────────────────────────────

  nameOf(id) {
    return this.names.get(id) || id;
  }

  colorOf(p) {
    if (p.skin && SKINS[p.skin]) return SKINS[p.skin];
    const seat = this.state ? this.state.players.findIndex((q) => q.id === p.id) : 0;
    return PALETTE[Math.max(0, seat) % PALETTE.length];
  }

  say(text) {
    this.$(".sr").textContent = text;
  }

  /** The HUD's time and scores, rebuilt only when they change. */
  updateHud() {
    const s = this.state;
    const time = this.$(".time");
    const t = clockText(s.time_ms);
    if (time.textContent !== t) time.textContent = t;
    time.classList.toggle("low", s.time_ms <= 10000);
    const sorted = [...s.players].sort((a, b) => b.score - a.score);
    const key = sorted.map((p) => `${p.id}:${p.score}:${p.out}`).join("|");
    if (key === this.hudKey) return;
    this.hudKey = key;
    this.$(".scores").replaceChildren(
      ...sorted.map((p) => {
        const li = document.createElement("li");
        if (p.id === this.me) li.classList.add("me");
        if (p.out) li.classList.add("out");
        const dot = document.createElement("span");
        dot.className = "dot";
        dot.style.background = this.colorOf(p);
        const name = document.createElement("span");
        name.className = "name";
        name.textContent = p.id === this.me ? `${this.nameOf(p.id)} (you)` : this.nameOf(p.id);
        const score = document.createElement("b");
        score.textContent = String(p.score);
        li.append(dot, name, score);
        return li;
      }),
    );
  }

  /** Sizes the canvas's backing store to its CSS size × devicePixelRatio. */
  resize() {
    const width = this.canvas.clientWidth || 640;
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    this.dpr = dpr;
    const w = Math.round(width * dpr);
    const h = Math.round(((width * 9) / 16) * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    if (this.state) this.draw(performance.now());
  }

  /** Where everyone is at `now`: own predicted (plus the fading correction), others
   * interpolated INTERP_DELAY_MS behind. */
  frame(now) {
    const out = interpolate(this.snaps, now - INTERP_DELAY_MS);
    const mine = this.readOnly ? null : predict(this.game, this.pred, now);
    if (mine) {
      out[this.me] = { x: mine.x + this.offset.x, y: mine.y + this.offset.y, daze: mine.daze, out: mine.out };
    }
    return out;
  }

  draw(now) {
    if (!this.state) return;
    const elapsed = this.lastFrame ? now - this.lastFrame : 0;
    this.lastFrame = now;
    this.offset = faded(this.offset, elapsed);
    const at = this.frame(now);
    this.drawn = at;
    const { ctx, canvas, A } = this;
    const css = canvas.width / (this.dpr || 1);
    const k = canvas.width / A.width; // backing pixels per field unit
    const unit = css / A.width; // CSS pixels per field unit
    ctx.setTransform(k, 0, 0, k, 0, 0);
    this.drawField(ctx, unit);
    this.drawCoins(ctx, now);
    this.drawPops(ctx, now, unit);
    // Others first, own disc on top; the out ones below everyone.
    const players = [...this.state.players].sort((a, b) => (a.out - b.out) * -1 || (a.id === this.me) - (b.id === this.me));
    for (const p of players) if (at[p.id]) this.drawDisc(ctx, p, at[p.id], now, unit);
  }

  drawField(ctx, unit) {
    const { width: W, height: H } = this.A;
    const g = ctx.createLinearGradient(0, 0, 0, H);
    g.addColorStop(0, "#14224a");
    g.addColorStop(1, "#0d1733");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#ffffff0d";
    ctx.lineWidth = 1 / unit;
    ctx.beginPath();
    for (let x = 40; x < W; x += 40) {
      ctx.moveTo(x, 0);
      ctx.lineTo(x, H);
    }
    for (let y = 40; y < H; y += 40) {
      ctx.moveTo(0, y);
      ctx.lineTo(W, y);
    }
    ctx.stroke();
    ctx.strokeStyle = "#ffffff17";
    ctx.lineWidth = 2 / unit;
    ctx.beginPath();
    ctx.arc(W / 2, H / 2, 60, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.strokeStyle = "#3b4f8f";
    ctx.lineWidth = 4;
    ctx.strokeRect(2, 2, W - 4, H - 4);
  }

  drawCoins(ctx, now) {
    const img = this.sprites.coin;
    for (const [x, y] of this.state.coins) {
      const r = 9 * (1 + 0.07 * Math.sin(now / 220 + x * 0.7));
      ctx.fillStyle = "#00000040";
      ctx.beginPath();
      ctx.ellipse(x + 1.5, y + 3, r * 0.9, r * 0.45, 0, 0, 2 * Math.PI);
      ctx.fill();
      if (img.complete && img.naturalWidth) ctx.drawImage(img, x - r, y - r, 2 * r, 2 * r);
      else {
        ctx.fillStyle = "#ffd23f";
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  /** A ring and "+1" where a coin was taken, for 450 ms. */
  drawPops(ctx, now, unit) {
    this.pops = this.pops.filter((p) => now - p.t0 < 450);
    for (const p of this.pops) {
      const f = (now - p.t0) / 450;
      ctx.globalAlpha = 1 - f;
      ctx.strokeStyle = "#ffe27a";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(p.x, p.y, 8 + 18 * f, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.fillStyle = "#ffe27a";
      ctx.font = `700 ${Math.max(12, 13 * unit) / unit}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.fillText("+1", p.x, p.y - 14 - 16 * f);
      ctx.globalAlpha = 1;
    }
  }

  drawDisc(ctx, p, at, now, unit) {
    const r = this.A.radius;
    const { x, y } = at;
    const mine = p.id === this.me;
    const dazed = at.daze > 0;
    const color = this.colorOf(p);
    ctx.save();
    if (p.out) ctx.globalAlpha = 0.3;
    // shadow
    ctx.fillStyle = "#00000055";
    ctx.beginPath();
    ctx.ellipse(x + 2, y + r * 0.75, r * 0.95, r * 0.4, 0, 0, 2 * Math.PI);
    ctx.fill();
    if (mine && !p.out) {
      ctx.fillStyle = "#ffffff22";
      ctx.beginPath();
      ctx.arc(x, y, r + 6, 0, 2 * Math.PI);
      ctx.fill();
    }
    // a dazed disc wobbles and fades a little
    const wob = dazed ? Math.sin(now / 40) * 1.5 : 0;
    ctx.globalAlpha *= dazed ? 0.75 : 1;
    ctx.fillStyle = p.out ? "#6b7280" : color;
    ctx.beginPath();
    ctx.arc(x + wob, y, r, 0, 2 * Math.PI);
    ctx.fill();
    const sheen = this.sprites.disc;
    if (sheen.complete && sheen.naturalWidth) ctx.drawImage(sheen, x + wob - r, y - r, 2 * r, 2 * r);
    ctx.lineWidth = mine ? 2.5 : 1.5;
    ctx.strokeStyle = mine ? "#ffffff" : "#00000080";
    ctx.beginPath();
    ctx.arc(x + wob, y, r - (mine ? 0 : 0.5), 0, 2 * Math.PI);
    ctx.stroke();
    ctx.globalAlpha = p.out ? 0.3 : 1;
    if (dazed) this.drawStars(ctx, x, y - r - 3, now);
    // the label: name and score over the disc
    const px = Math.max(11, 12 * unit) / unit; // at least 11 CSS px whatever the scale
    ctx.font = `${mine ? 700 : 600} ${px}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
    const label = `${this.nameOf(p.id)}${p.out ? " (left)" : ""}`;
    const score = String(p.score);
    const lw = ctx.measureText(label).width;
    const sw = ctx.measureText(score).width;
    const pad = 4 / unit;
    const gap = 5 / unit;
    const total = lw + gap + sw + 2 * pad + 6 / unit;
    const h = px * 1.35;
    let lx = x - total / 2;
    lx = Math.max(2, Math.min(this.A.width - 2 - total, lx));
    let ly = y - r - (dazed ? 12 : 6) - h;
    if (ly < 2) ly = y + r + 6; // at the top wall the label goes below
    ctx.fillStyle = "#0a1026c0";
    roundRect(ctx, lx, ly, total, h, h / 2);
    ctx.fill();
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.fillStyle = "#e8ecf8";
    ctx.fillText(label, lx + pad + 1 / unit, ly + h / 2 + 0.5 / unit);
    ctx.fillStyle = "#ffd23f";
    ctx.fillText(score, lx + pad + lw + gap + 2 / unit, ly + h / 2 + 0.5 / unit);
    ctx.restore();
  }

  /** Three little stars circling over a dazed disc. */
  drawStars(ctx, cx, cy, now) {
    ctx.fillStyle = "#ffe27a";
    for (let i = 0; i < 3; i++) {
      const a = now / 160 + (i * 2 * Math.PI) / 3;
      const sx = cx + Math.cos(a) * 12;
      const sy = cy + Math.sin(a) * 3.5;
      ctx.beginPath();
      for (let j = 0; j < 8; j++) {
        const rr = j % 2 ? 1.6 : 4.2;
        const b = (j * Math.PI) / 4 + now / 300;
        ctx.lineTo(sx + Math.cos(b) * rr, sy + Math.sin(b) * rr);
      }
      ctx.closePath();
      ctx.fill();
    }
  }
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

function readMuted() {
  try {
    return localStorage.getItem(MUTE_KEY) === "1";
  } catch {
    return false;
  }
}

if (!customElements.get("chorus-arena")) customElements.define("chorus-arena", ChorusArena);
