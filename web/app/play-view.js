// play-view.js — <chorus-play>: choose a game, queue for it (mm.join), wait with a visible
// timer and a cancel button (mm.leave). The match itself arrives on the user's inbox, which
// the session listens to wherever the player is; the shell then opens the room. The ticket
// outlives this screen (one may chat while waiting), so the waiting state is kept here at
// module level and shown again on return.

import { session } from "./session.js";
import { h, minutes, notice } from "./dom.js";
import { describe } from "./errors.js";

/** The games offered, with what the list says about them (names come from the files' meta). */
const GAMES = [
  { id: "tictactoe", blurb: "Three in a row. Turn-based, one minute per move, takebacks by agreement." },
  { id: "arena", blurb: "Steer your disc, grab coins, bump richer players. Real time, 2–8 players, one minute." },
];

/** The ticket waiting now: `{game, name, since}` (since: this page's clock), or null. */
let waiting = null;
session.addEventListener("match", () => (waiting = null));
session.addEventListener("client", () => (waiting = null));

/** The game files' `meta`, loaded once. */
const metas = Promise.all(GAMES.map((g) => import(`../games/${g.id}.js`).then((m) => m.meta)));

class PlayView extends HTMLElement {
  #timer = null;
  #choice = GAMES[0].id;
  #status = notice();

  async connectedCallback() {
    this.replaceChildren(h("section", { class: "screen narrow" }, h("h1", { text: "Play" }), h("p", { class: "muted", text: "Loading games…" })));
    let meta;
    try {
      meta = await metas;
    } catch (err) {
      this.#status.show(describe(err));
      this.replaceChildren(h("section", { class: "screen narrow" }, h("h1", { text: "Play" }), this.#status));
      return;
    }
    this.games = GAMES.map((g, i) => ({ ...g, meta: meta[i] }));
    if (this.isConnected) this.render();
  }

  disconnectedCallback() {
    clearInterval(this.#timer);
  }

  render() {
    clearInterval(this.#timer);
    if (waiting) return this.#renderWaiting();
    const options = this.games.map((g) =>
      h("label", { class: "game-option" },
        h("input", { type: "radio", name: "game", value: g.id, checked: g.id === this.#choice, on: { change: () => (this.#choice = g.id) } }),
        h("span", { class: `game-art ${g.id}`, "aria-hidden": "true" }),
        h("span", { class: "game-text" },
          h("strong", { text: g.meta.name }),
          h("span", { class: "muted small", text: `${g.meta.players.min === g.meta.players.max ? g.meta.players.min : `${g.meta.players.min}–${g.meta.players.max}`} players · ${g.meta.tick_hz ? "real time" : "turn-based"}` }),
          h("span", { class: "small", text: g.blurb }))));
    const find = h("button", { class: "primary wide", type: "submit", text: "Find a match" });
    const form = h("form", { class: "stack" },
      h("fieldset", { class: "games" }, h("legend", { text: "Choose a game" }), ...options),
      this.#status, find);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      find.disabled = true;
      try {
        await session.matchReady; // the inbox first, or the match could be missed
        await session.chorus.mm.join(this.#choice);
        const g = this.games.find((x) => x.id === this.#choice);
        waiting = { game: g.id, name: g.meta.name, since: Date.now() };
        this.#status.show("");
        if (this.isConnected) this.render();
      } catch (err) {
        this.#status.show(describe(err));
        find.disabled = false;
      }
    });
    this.replaceChildren(h("section", { class: "screen narrow" },
      h("h1", { text: "Play" }),
      session.signedIn ? null : h("p", { class: "hint", text: "As a guest your games are not rated." }),
      h("div", { class: "card" }, form)));
  }

  #renderWaiting() {
    const clock = h("span", { class: "timer", role: "timer", "aria-label": "Time waited", text: "0:00" });
    const tick = () => (clock.textContent = minutes((Date.now() - waiting.since) / 1000));
    tick();
    this.#timer = setInterval(tick, 1000);
    const cancel = h("button", { class: "secondary wide", type: "button", text: "Cancel" });
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        await session.chorus.mm.leave();
        waiting = null;
        this.#status.show("");
        this.render();
      } catch (err) {
        // `conflict`: a match is being made right now; it will arrive.
        this.#status.show(describe(err));
        cancel.disabled = false;
      }
    });
    this.replaceChildren(h("section", { class: "screen narrow" },
      h("h1", { text: "Play" }),
      h("div", { class: "card waiting", "aria-busy": "true" },
        h("div", { class: "pulse", "aria-hidden": "true" }),
        h("p", { class: "waiting-title" }, "Looking for players for ", h("strong", { text: waiting.name }), "…"),
        clock,
        h("p", { class: "hint", text: "You can chat in the lobby meanwhile: the game opens when it is found." }),
        this.#status,
        cancel)));
    cancel.focus();
  }
}

customElements.define("chorus-play", PlayView);
