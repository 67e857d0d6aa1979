// voice-panel.js — <chorus-voice-panel channel="lobby">: the voice chat of a place (the
// lobby, a game room). Join or leave, mute, who is in the channel with a talking indicator
// (their audio level) and the state of the connection to each. The call itself (WebRTC,
// signalling over Chorus) is ./voice.js; this element only shows it and drives it.
//
// It takes the session's client by itself when attached; start({chorus, me, signedIn})
// sets another one. `await el.stats()` gives each peer's connection state and audio byte
// counters (tests, diagnostics). Leaving the page (the element detached) leaves the channel.

import { session } from "./session.js";
import { h } from "./dom.js";
import { describe } from "./errors.js";
import { VoiceCall, VoiceError } from "./voice.js";

/** The panel's stylesheet, linked once for the page. */
if (!document.querySelector("link[data-voice-css]")) {
  document.head.append(h("link", { rel: "stylesheet", href: new URL("./voice.css", import.meta.url).href, "data-voice-css": true }));
}

/** An RTCPeerConnectionState in words. */
const STATE_TEXT = {
  new: "Connecting…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Reconnecting…",
  failed: "Connection failed",
  closed: "Disconnected",
};
/** Above this level (0..1) a member shows as talking. */
const TALKING = 0.05;

class VoicePanel extends HTMLElement {
  /** @type {VoiceCall | null} */
  #call = null;
  #started = false;
  #signedIn = false;
  #button = null;
  #mute = null;
  #list = null;
  #count = null;
  #status = null;
  #hint = null;
  /** member id → its <li>, for the level updates between renders. */
  #items = new Map();

  connectedCallback() {
    if (!this.#started && session.chorus && session.user) {
      this.start({ chorus: session.chorus, me: session.user.id, signedIn: session.signedIn });
    }
  }

  disconnectedCallback() {
    this.stop();
  }

  /** @param {{chorus: any, me: string, signedIn?: boolean, channel?: string}} o */
  start({ chorus, me, signedIn = true, channel = this.getAttribute("channel") || "lobby" }) {
    this.stop();
    this.#started = true;
    this.#signedIn = Boolean(signedIn);
    const call = new VoiceCall({ chorus, channel, me });
    this.#call = call;
    const headId = `voice-head-${channel}`;
    this.#count = h("span", { class: "voice-count muted small" });
    this.#mute = h("button", { class: "ghost small voice-mute", type: "button", "aria-pressed": "false", text: "Mute", hidden: true, on: { click: () => call.setMuted(!call.muted) } });
    this.#button = h("button", { class: "primary small voice-join", type: "button", text: "Join voice", disabled: !signedIn, on: { click: () => this.#toggle() } });
    this.#status = h("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
    this.#list = h("ul", { class: "voice-members", "aria-label": "In voice" });
    this.#hint = h("p", { class: "hint voice-hint" });
    this.replaceChildren(
      h("section", { class: "card voice", "aria-labelledby": headId },
        h("div", { class: "voice-head" },
          h("h2", { id: headId }, h("span", { class: "voice-icon", "aria-hidden": "true" }), "Voice"),
          this.#count,
          h("div", { class: "voice-actions" }, this.#mute, this.#button)),
        this.#status,
        this.#list,
        this.#hint),
    );
    this.#hint.textContent = signedIn
      ? "Talk with everyone here. Your microphone is used only while you are in voice."
      : "Sign in to talk in voice.";
    call.addEventListener("change", () => call === this.#call && this.#render());
    call.addEventListener("levels", (e) => call === this.#call && this.#levels(e.detail));
    this.#render();
  }

  /** Leaves the channel (if in it) and forgets the call. */
  stop() {
    this.#started = false;
    const call = this.#call;
    this.#call = null;
    call?.leave();
  }

  /** Each peer's connection state and audio counters: id → {state, bytesReceived, bytesSent}. */
  stats() {
    return this.#call ? this.#call.stats() : Promise.resolve({});
  }

  async #toggle() {
    const call = this.#call;
    if (!call) return;
    if (call.state === "joined") {
      this.#say("");
      await call.leave();
      return;
    }
    if (call.state !== "idle") return;
    this.#say("");
    try {
      await call.join();
    } catch (err) {
      if (call !== this.#call || err?.code === "aborted") return;
      this.#say(err instanceof VoiceError ? err.message : describe(err));
    }
  }

  #say(text) {
    this.#status.textContent = text;
    this.#status.hidden = !text;
  }

  #render() {
    const call = this.#call;
    const joined = call.state === "joined";
    const busy = call.state === "joining" || call.state === "leaving";
    this.dataset.state = call.state;
    this.#button.textContent = call.state === "joining" ? "Joining…" : joined ? "Leave voice" : "Join voice";
    this.#button.className = `small voice-join ${joined ? "ghost danger" : "primary"}`;
    this.#button.disabled = busy || !this.#signedIn;
    this.#mute.hidden = !joined;
    this.#mute.setAttribute("aria-pressed", String(call.muted));
    this.#mute.textContent = call.muted ? "Muted" : "Mute";
    this.#mute.setAttribute("aria-label", "Mute my microphone");
    this.#count.textContent = joined ? `${call.members.size} of ${call.maxPeers}` : "";
    const states = call.peerStates();
    const me = session.user?.id;
    this.#items.clear();
    const ids = [...call.members.keys()].sort((a, b) => (a === me ? -1 : b === me ? 1 : 0));
    this.#list.replaceChildren(
      ...ids.map((id) => {
        const name = call.members.get(id);
        const self = id === me;
        const state = self ? (call.muted ? "Muted" : "You") : STATE_TEXT[states.get(id)] ?? "Waiting…";
        const li = h("li", { class: "voice-member", dataset: { id, state: self ? "self" : states.get(id) ?? "none" } },
          h("span", { class: "voice-avatar", "aria-hidden": "true", text: name.slice(0, 1).toUpperCase() }),
          h("span", { class: "voice-who" },
            h("span", { class: "voice-name", text: self ? `${name} (you)` : name }),
            h("span", { class: "voice-state", text: state })),
          h("span", { class: "voice-meter", role: "meter", "aria-label": `${name}'s audio level`, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" },
            h("span", { class: "voice-meter-bar" })));
        this.#items.set(id, li);
        return li;
      }),
    );
    this.#list.hidden = !joined;
  }

  /** The talking indicators: a ring on the avatar and a meter, from each member's level. */
  #levels(levels) {
    for (const [id, level] of levels) {
      const li = this.#items.get(id);
      if (!li) continue;
      const pct = Math.round(Math.min(1, level) * 100);
      li.style.setProperty("--level", String(pct / 100));
      li.toggleAttribute("data-talking", level > TALKING);
      li.querySelector(".voice-meter")?.setAttribute("aria-valuenow", String(pct));
    }
  }
}

customElements.define("chorus-voice-panel", VoicePanel);
