// web/app/bigscreen.js — big-screen mode of a game room, and <chorus-pad-panel>, the panel
// that pairs a phone as the seat's gamepad.
//
// Why it exists: a room shown on a TV or a shop's display is steered from a phone, not from
// the screen. The room view gets a "Big screen" button (bigScreenButton); pressed, the room
// fills the window, the game view stops sending inputs (the arena's readOnly), and the panel
// asks `svc.rooms.pad` for a join code and shows it in large letters, as a QR code of
// `{origin}/#pad=CODE` (drawn by ./qr.js, nothing from another host), with its countdown and
// a "New code" button. When the phone claims the code, the player's inbox hears
// `{event:"paired"}` on `user.{self}.pad` and the panel says "Controller connected: <name>".
// Protocol: protocol/PROTOCOL.md, "Phones as gamepads".

import { h } from "./dom.js";
import { describe } from "./errors.js";

if (!document.querySelector("link[data-pad-css]")) {
  document.head.append(h("link", { rel: "stylesheet", href: new URL("./pad.css", import.meta.url).href, "data-pad-css": true }));
}

/** The link a phone opens for `code`: this app's address with `#pad=CODE`. */
export function padLink(code) {
  return `${location.origin}${location.pathname}#pad=${encodeURIComponent(code)}`;
}

/**
 * The "Big screen" toggle for a room: `section` is the room's screen (it gets the class
 * `bigscreen` and the panel), `view` the game element (its `readOnly` is set while big, when it
 * has one). Returns the button; leaving the room ends the mode with it.
 * @param {{section: HTMLElement, view: HTMLElement & {readOnly?: boolean}, chorus: any, room: string}} o
 */
export function bigScreenButton({ section, view, chorus, room }) {
  let panel = null;
  const button = h("button", { class: "ghost small", type: "button", text: "Big screen", "aria-pressed": "false" });
  const set = (on) => {
    if (on === Boolean(panel)) return;
    if (on) {
      panel = h("chorus-pad-panel");
      section.append(panel);
      panel.start({ chorus, room });
    } else {
      panel.remove();
      panel = null;
    }
    section.classList.toggle("bigscreen", on);
    if ("readOnly" in view) view.readOnly = on;
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? "Exit big screen" : "Big screen";
    if (!on) button.focus();
  };
  button.addEventListener("click", () => set(!panel));
  return button;
}

/** m:ss */
function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

class PadPanel extends HTMLElement {
  #c = null;
  #room = null;
  #off = null;
  #timer = 0;
  #expires = 0;
  #retryAt = 0;
  #code = null;
  #gen = 0;
  #els = null;

  connectedCallback() {
    if (this.#els) return;
    const code = h("p", { class: "pad-code", "aria-label": "Join code", text: "······" });
    const qr = h("div", { class: "pad-qr", role: "img", "aria-label": "QR code of the controller link" });
    const link = h("p", { class: "pad-link muted small" });
    const timer = h("p", { class: "pad-timer", role: "timer", "aria-label": "Code expires in" });
    const paired = h("p", { class: "pad-paired", role: "status", "aria-live": "polite", hidden: true });
    const error = h("p", { class: "notice", role: "alert", hidden: true });
    const renew = h("button", { class: "secondary", type: "button", text: "New code", on: { click: () => this.#fetch() } });
    this.#els = { code, qr, link, timer, paired, error, renew };
    this.append(h("section", { class: "pad-panel card", "aria-label": "Phone controller" },
      h("h2", { text: "Play from your phone" }),
      h("p", { class: "muted small", text: "Scan the code, or open Chorus and enter it under “Join as controller”. Your phone becomes the gamepad." }),
      qr, code, link, timer, paired, error,
      h("div", { class: "row" }, renew)));
  }

  disconnectedCallback() {
    this.stop();
  }

  /** Starts asking for codes for `room` and listening for the phone. */
  start({ chorus, room }) {
    this.stop();
    this.#c = chorus;
    this.#room = room;
    this.#off = chorus.rooms.onPad((e) => this.#paired(e));
    this.#off.ready.then(() => this.#fetch(), (err) => this.#fail(err));
    this.#timer = setInterval(() => this.#tick(), 250);
  }

  stop() {
    this.#gen++;
    this.#off?.();
    this.#off = null;
    clearInterval(this.#timer);
  }

  /** The current code (for tests and the curious). */
  get code() {
    return this.#code;
  }

  async #fetch() {
    const gen = ++this.#gen;
    const { renew, error } = this.#els;
    renew.disabled = true;
    error.hidden = true;
    try {
      const pad = await this.#c.rooms.pad(this.#room);
      if (gen !== this.#gen) return;
      await this.#show(pad);
    } catch (err) {
      if (gen === this.#gen) this.#fail(err);
    } finally {
      if (gen === this.#gen) renew.disabled = false;
    }
  }

  async #show(pad) {
    const { code, qr, link, paired } = this.#els;
    this.#code = pad.code;
    this.#expires = Date.now() + pad.expires_in_ms;
    this.dataset.state = "waiting";
    code.textContent = pad.code;
    const url = padLink(pad.code);
    const { encode, toSvg } = await import("./qr.js"); // only a big screen needs it
    qr.innerHTML = toSvg(encode(url, { ecl: "M" }));
    qr.setAttribute("aria-label", `QR code of ${url}`);
    qr.dataset.url = url;
    link.textContent = url;
    if (paired.hidden) paired.textContent = "";
    this.#tick();
  }

  #tick() {
    const { timer } = this.#els;
    if (!this.#code) return;
    if (this.dataset.state === "used") {
      timer.textContent = "Code used. “New code” pairs another phone.";
      return;
    }
    if (this.dataset.state === "expired") {
      // A new code by itself, tried again every 10 s while the service does not answer.
      if (Date.now() >= this.#retryAt) {
        this.#retryAt = Date.now() + 10000;
        this.#fetch();
      }
      return;
    }
    const left = this.#expires - Date.now();
    if (left <= 0) {
      this.dataset.state = "expired";
      timer.textContent = "Code expired. Getting a new one…";
      this.#retryAt = 0;
      return this.#tick();
    }
    const text = `Expires in ${clock(left)}`;
    if (timer.textContent !== text) timer.textContent = text;
  }

  #paired(e) {
    if (!e || e.event !== "paired") return;
    const { paired } = this.#els;
    paired.textContent = `Controller connected: ${e.name}`;
    paired.hidden = false;
    this.dataset.state = "used";
    this.#tick();
  }

  #fail(err) {
    const { error } = this.#els;
    error.textContent = `No code: ${describe(err)}`;
    error.hidden = false;
  }
}

if (!customElements.get("chorus-pad-panel")) customElements.define("chorus-pad-panel", PadPanel);
