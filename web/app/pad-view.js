// web/app/pad-view.js — <chorus-pad code="ABC234">: the phone as a gamepad for one seat.
//
// Why it exists: a room on a big screen is steered from phones. Opening the app at
// `/#pad=CODE` (or typing the code under "Join as controller") mounts this element on the
// session's connection (main.js makes a guest one when nobody is signed in). It claims the
// code (`svc.rooms.claim`), keeps `{room, resume}` in localStorage ("chorus.pad"), and shows
// a controller sized for a phone held upright: the seat's name, colour and score from the
// room's state (the phone is granted `room.{rid}.state`), big d-pad buttons (touch or mouse:
// hold to move, release to stop) and, where the device has one, tilt steering behind a
// toggle. Inputs are `{n, dx, dy}` published with `chorus.rooms.send`, numbered above the
// seat's `last_n` read from the latest state. A phone that locks or loses its link comes back
// as a new guest: on every welcome after the first it claims the seat again with
// `{room, resume}` and goes on. For tic-tac-toe it shows the board (<chorus-tictactoe>) as the
// seat's player instead. Protocol: protocol/PROTOCOL.md, "Phones as gamepads".

import { session } from "./session.js";
import { h } from "./dom.js";
import { describe } from "./errors.js";
import { direction } from "./netcode.js";
import { holdable } from "./hold.js";
import "./tictactoe-view.js";

if (!document.querySelector("link[data-pad-css]")) {
  document.head.append(h("link", { rel: "stylesheet", href: new URL("./pad.css", import.meta.url).href, "data-pad-css": true }));
}

const KEY = "chorus.pad";
/** A tap shorter than this still holds its direction this long (a nudge, not nothing). */
const MIN_HOLD_MS = 150;
/** Degrees of tilt from where the phone was held when tilt was switched on before it steers. */
const TILT_DEG = 12;
/** The arena's disc colours by seat (as arena-view.js draws them), so the phone shows its disc's. */
const PALETTE = ["#4cc9f0", "#f72585", "#b8f35d", "#ff9f1c", "#9b5de5", "#00f5d4", "#ff6b6b", "#ffd6a5"];
const ARROWS = { up: "M12 5l8 10H4z", left: "M5 12l10-8v16z", right: "M19 12L9 20V4z", down: "M12 19L4 9h16z" };

function stored() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || "null");
    return v && typeof v.room === "string" && typeof v.resume === "string" ? v : null;
  } catch {
    return null;
  }
}

function store(v) {
  try {
    if (v) localStorage.setItem(KEY, JSON.stringify(v));
    else localStorage.removeItem(KEY);
  } catch {
    // storage refused: resuming after a reload will not work, the rest does
  }
}

/** What a failed claim means to the person holding the phone. */
function claimError(err, resuming) {
  if (err?.code === "not_found") {
    return resuming
      ? "This controller's game is over, or another phone took the seat. Ask the big screen for a new code."
      : "That code is wrong, already used or expired. Ask the big screen for a new code.";
  }
  if (err?.code === "rate_limited") return "Too many tries. Wait a minute, then enter the code again.";
  return describe(err);
}

function svgArrow(d) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

class PadView extends HTMLElement {
  #c = null;
  #offs = [];
  #gen = 0;
  /** The claim's answer: {room, game, seat:{id,name,seat}, resume}. */
  #claim = null;
  #unsubState = null;
  #state = null;
  #seq = -1;
  #nextN = 0;
  #sent = { dx: 0, dy: 0 };
  /** pointer id (or key code) → direction held. */
  #held = new Map();
  #tilt = null;
  #tiltDir = { dx: 0, dy: 0 };
  #els = null;
  #game = null;

  connectedCallback() {
    this.#build();
    const onClient = () => this.#use(session.chorus);
    session.addEventListener("client", onClient);
    this.#offs.push(() => session.removeEventListener("client", onClient));
    const onKey = (e) => this.#key(e);
    window.addEventListener("keydown", onKey);
    window.addEventListener("keyup", onKey);
    const onBlur = () => this.#releaseAll();
    window.addEventListener("blur", onBlur);
    this.#offs.push(() => {
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("keyup", onKey);
      window.removeEventListener("blur", onBlur);
    });
    this.#use(session.chorus);
  }

  disconnectedCallback() {
    this.#gen++;
    for (const off of this.#offs.splice(0)) off();
    this.#clientOffs?.forEach((off) => off());
    this.#dropState();
    this.#game?.stop?.();
    this.#tiltOff();
  }

  #clientOffs = null;

  /** Works on client `c` (a new one after the session changed). */
  #use(c) {
    this.#clientOffs?.forEach((off) => off());
    this.#clientOffs = null;
    this.#c = c;
    if (!c) return;
    this.#clientOffs = [
      // A new welcome is a new connection (a guest's has a new id): claim the seat again.
      c.on("welcome", () => this.#connectClaim()),
      c.on("state", ({ state }) => {
        if (state !== "connected") {
          this.#dropState(); // its grant belongs to the old connection
          this.#status(this.#claim ? "Connection lost. Reconnecting…" : "Connecting…", "info");
        }
      }),
    ];
    if (c.state === "connected") this.#connectClaim();
    else this.#status("Connecting…", "info");
  }

  get code() {
    return (this.getAttribute("code") || "").toUpperCase();
  }

  // ── claiming ─────────────────────────────────────────────────────────────────────────

  /** Claims the seat: by resume when this phone already holds it (a reload, a reconnect), else by code. */
  async #connectClaim() {
    const c = this.#c;
    const gen = ++this.#gen;
    this.#dropState();
    const saved = stored();
    const code = this.code;
    const resume = saved && (!code || saved.code === code || (this.#claim && this.#claim.room === saved.room));
    if (!resume && !code) return this.#ask("Enter the code shown on the big screen.", "info");
    this.#status(resume ? "Taking your seat back…" : "Joining…", "info");
    let r;
    try {
      r = await c.rooms.claim(resume ? { room: saved.room, resume: saved.resume } : code);
    } catch (err) {
      if (gen !== this.#gen) return;
      if (err?.local && err.code === "unavailable") return; // the link dropped: the next welcome tries again
      if (resume && code && saved.code !== code) {
        store(null);
        return this.#connectClaim();
      }
      if (resume) store(null);
      this.#claim = null;
      return this.#ask(claimError(err, resume), "error");
    }
    if (gen !== this.#gen) return;
    const first = !this.#claim || this.#claim.room !== r.room || this.#claim.seat.id !== r.seat.id;
    this.#claim = r;
    store({ room: r.room, resume: r.resume, code: resume ? saved.code : code, game: r.game, seat: r.seat });
    if (first) {
      this.#nextN = 0;
      this.#state = null;
      this.#seq = -1;
    }
    this.#status(`Connected. You steer ${r.seat.name}.`, "ok");
    this.#els.ask.hidden = true;
    if (r.game === "arena") await this.#watchArena(gen);
    else await this.#showBoard(gen, r);
  }

  /** The arena: the room's states (granted by the claim), then the held direction goes again. */
  async #watchArena(gen) {
    const c = this.#c;
    const { room } = this.#claim;
    this.#els.controls.hidden = false;
    this.#els.board.hidden = true;
    this.#unsubState = c.rooms.onState(room, (d) => this.#onState(d), {
      error: (err) => {
        if (gen !== this.#gen) return;
        this.#unsubState = null;
        if (err.code === "revoked") this.#ask("Another phone now steers this seat.", "error", true);
      },
    });
    try {
      const r = await c.rooms.state(room);
      if (gen !== this.#gen) return;
      this.#names = new Map((r.players || []).map((p) => [p.id, p.name]));
      this.#onState(r);
    } catch (err) {
      if (gen === this.#gen && !err?.local) this.#status(describe(err), "error");
    }
    if (gen !== this.#gen) return;
    this.#sent = { dx: 0, dy: 0 };
    this.#steer(true);
  }

  /** Tic-tac-toe: the board, played as the seat's player (inputs by svc.rooms.input). */
  async #showBoard(gen, r) {
    this.#els.controls.hidden = true;
    this.#els.board.hidden = false;
    try {
      const [initial, game] = await Promise.all([this.#c.rooms.state(r.room), import(`../games/${r.game}.js`)]);
      if (gen !== this.#gen) return;
      this.#game?.stop?.();
      const view = h("chorus-tictactoe");
      this.#els.board.replaceChildren(view);
      this.#game = view;
      view.start({ chorus: this.#c, room: r.room, me: r.seat.id, game, initial });
      this.#showSeat(r.seat, null);
    } catch (err) {
      if (gen === this.#gen) this.#status(describe(err), "error");
    }
  }

  #dropState() {
    try {
      this.#unsubState?.();
    } catch {
      // gone already
    }
    this.#unsubState = null;
  }

  // ── the room's state ─────────────────────────────────────────────────────────────────

  #onState(d) {
    if (!d || !d.state || typeof d.seq !== "number" || d.seq <= this.#seq) return;
    this.#seq = d.seq;
    this.#state = d.state;
    const seat = this.#claim?.seat;
    const own = seat && d.state.players.find((p) => p.id === seat.id);
    if (own) this.#nextN = Math.max(this.#nextN, own.last_n + 1);
    this.#showSeat(seat, own, d.state);
  }

  #showSeat(seat, own, state) {
    if (!seat) return;
    const e = this.#els;
    e.seatCard.hidden = false;
    e.intro.hidden = true;
    e.name.textContent = seat.name;
    this.style.setProperty("--seat", PALETTE[seat.seat % PALETTE.length]);
    e.score.textContent = own ? String(own.score) : "–";
    if (state && typeof state.time_ms === "number") {
      const s = Math.max(0, Math.ceil(state.time_ms / 1000));
      e.time.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }
    e.time.hidden = !state;
    const over = state && (state.winner || state.draw);
    if (over) {
      const winner = state.players.find((p) => p.id === state.winner);
      e.result.textContent = state.draw ? "It's a draw." : state.winner === seat.id ? `${seat.name} won! 🎉` : `${winner ? this.#nameOf(winner.id) : "Someone"} won.`;
      e.result.hidden = false;
      this.#releaseAll();
    }
    this.dataset.over = over ? "true" : "false";
  }

  #names = new Map();

  #nameOf(id) {
    return this.#names.get(id) || "Another player";
  }

  // ── input ────────────────────────────────────────────────────────────────────────────

  /** Sends the held direction when it changed (or `force`); only once a state says last_n. */
  #steer(force = false) {
    for (const b of this.#els.buttons) b.classList.toggle("held", [...this.#held.values()].includes(b.dataset.dir));
    const dir = this.#held.size ? direction([...this.#held.values()]) : this.#tiltDir;
    if (!force && dir.dx === this.#sent.dx && dir.dy === this.#sent.dy) return;
    const c = this.#c;
    const claim = this.#claim;
    if (!c || !claim || !this.#state || !this.#unsubState || c.state !== "connected") return;
    if (this.#state.winner || this.#state.draw) return;
    if (force && dir.dx === 0 && dir.dy === 0 && this.#sent.dx === 0 && this.#sent.dy === 0) return;
    const input = { n: this.#nextN++, dx: dir.dx, dy: dir.dy };
    try {
      c.rooms.send(claim.room, input);
      this.#sent = dir;
      this.dataset.sent = String(input.n);
    } catch {
      // not even queued: the next welcome claims again and resends
    }
  }

  #press(id, dir) {
    this.#held.set(id, dir);
    this.#steer();
  }

  #release(id) {
    if (this.#held.delete(id)) this.#steer();
  }

  #releaseAll() {
    if (!this.#held.size) return;
    this.#held.clear();
    this.#steer();
  }

  #key(e) {
    const dir = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" }[e.key];
    if (!dir || this.#els.controls.hidden || e.target?.closest?.("input")) return;
    e.preventDefault();
    if (e.type === "keydown" && !this.#held.has(e.key)) this.#press(e.key, dir);
    if (e.type === "keyup") this.#release(e.key);
  }

  // ── tilt ─────────────────────────────────────────────────────────────────────────────

  async #toggleTilt() {
    const btn = this.#els.tilt;
    if (this.#tilt) {
      this.#tiltOff();
      this.#steer();
      return;
    }
    try {
      const D = window.DeviceOrientationEvent;
      if (typeof D.requestPermission === "function" && (await D.requestPermission()) !== "granted") {
        return this.#status("Tilt needs permission to read the motion sensor.", "error");
      }
    } catch {
      return this.#status("Tilt needs permission to read the motion sensor.", "error");
    }
    let neutral = null;
    const onTilt = (e) => {
      if (e.beta === null || e.gamma === null) return;
      if (neutral === null) neutral = e.beta; // held as it was when switched on = standing still
      const fb = e.beta - neutral;
      const lr = e.gamma;
      this.#tiltDir = { dx: lr > TILT_DEG ? 1 : lr < -TILT_DEG ? -1 : 0, dy: fb > TILT_DEG ? 1 : fb < -TILT_DEG ? -1 : 0 };
      this.#steer();
    };
    window.addEventListener("deviceorientation", onTilt);
    this.#tilt = () => window.removeEventListener("deviceorientation", onTilt);
    btn.setAttribute("aria-pressed", "true");
    this.#els.tiltHint.hidden = false;
  }

  #tiltOff() {
    this.#tilt?.();
    this.#tilt = null;
    this.#tiltDir = { dx: 0, dy: 0 };
    if (this.#els) {
      this.#els.tilt.setAttribute("aria-pressed", "false");
      this.#els.tiltHint.hidden = true;
    }
  }

  // ── the page ─────────────────────────────────────────────────────────────────────────

  #status(text, kind = "info") {
    const s = this.#els.status;
    s.textContent = text;
    s.dataset.kind = kind;
    s.hidden = !text;
  }

  /** Shows `text` and the code form (to try another code). */
  #ask(text, kind, retry = false) {
    this.#status(text, kind);
    this.#els.ask.hidden = false;
    this.#els.retry.hidden = !retry;
    this.#els.controls.hidden = true;
    if (!this.#claim) {
      this.#els.seatCard.hidden = true;
      this.#els.intro.hidden = false;
    }
  }

  #build() {
    if (this.#els) return;
    const name = h("strong", { class: "pad-name", text: "…" });
    const score = h("b", { class: "pad-score", text: "–" });
    const time = h("span", { class: "pad-time", "aria-label": "Time left", hidden: true });
    const status = h("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
    const result = h("p", { class: "pad-result", role: "status", hidden: true });
    const buttons = ["up", "left", "right", "down"].map((dir) => {
      const b = h("button", { type: "button", class: `pad-btn ${dir}`, "aria-label": `Move ${dir}`, dataset: { dir } }, svgArrow(ARROWS[dir]));
      holdable(b, { press: (id) => this.#press(id, dir), release: (id) => this.#release(id), minHoldMs: MIN_HOLD_MS });
      return b;
    });
    const hasTilt = typeof window.DeviceOrientationEvent === "function";
    const tilt = h("button", { type: "button", class: "ghost small", "aria-pressed": "false", text: "Tilt to steer", hidden: !hasTilt, on: { click: () => this.#toggleTilt() } });
    const tiltHint = h("p", { class: "hint center", hidden: true, text: "Tilt the phone the way to go; hold it as now to stand still." });
    const codeInput = h("input", { id: "pad-code-again", name: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: "6", inputmode: "text", value: this.code });
    const ask = h("form", { class: "stack pad-ask", "aria-label": "Try another code", hidden: true },
      h("div", { class: "field" }, h("label", { for: "pad-code-again", text: "Controller code" }), codeInput),
      h("button", { class: "primary wide", type: "submit", text: "Join as controller" }));
    ask.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = codeInput.value.trim().toUpperCase();
      if (!v) return;
      store(null);
      this.#claim = null;
      if (location.hash === `#pad=${v}`) this.#connectClaim();
      else location.hash = `#pad=${v}`;
    });
    const retry = h("button", { type: "button", class: "secondary wide", text: "Take the seat back", hidden: true, on: { click: () => this.#connectClaim() } });
    const board = h("div", { class: "pad-board", hidden: true });
    const controls = h("div", { class: "pad-controls", hidden: true },
      h("div", { class: "pad-dpad", role: "group", "aria-label": "Direction pad" }, ...buttons),
      tilt, tiltHint);
    const leave = h("a", { class: "button ghost small", href: "#/lobby", text: "Stop controlling", on: { click: () => store(null) } });
    const intro = h("div", { class: "pad-intro" },
      h("h1", { text: "Phone controller" }),
      h("p", { class: "muted", text: "Your phone becomes the gamepad of a game on a big screen." }));
    const seatCard = h("div", { class: "pad-seat card", hidden: true },
        h("span", { class: "pad-disc", "aria-hidden": "true" }),
        h("div", { class: "pad-who" }, h("span", { class: "muted small", text: "You steer" }), name),
        h("div", { class: "pad-stats" }, h("span", { class: "muted small", text: "Score" }), score),
        time);
    this.#els = { name, score, time, status, result, buttons, tilt, tiltHint, ask, retry, board, controls, intro, seatCard };
    this.replaceChildren(h("section", { class: "screen pad-screen", "aria-label": "Controller" },
      intro, seatCard,
      status, result, ask, retry, controls, board,
      h("div", { class: "row pad-foot" }, leave)));
  }
}

if (!customElements.get("chorus-pad")) customElements.define("chorus-pad", PadView);
