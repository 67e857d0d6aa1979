// room-view.js — <chorus-room arg="<room id>">: a game room. It fetches the room's state
// (svc.rooms.state), imports the room's game file from /games/ (the very file the rooms
// worker runs), and mounts the game's view: <chorus-tictactoe> here, <chorus-arena> from
// ./arena-view.js for the realtime arena. Both take start({chorus, room, me, game, initial})
// and stop(), and say when the game is over with a bubbling event.

import { session } from "./session.js";
import { h, notice } from "./dom.js";
import { describe } from "./errors.js";
import "./tictactoe-view.js";
import "./voice-panel.js";
import { bigScreenButton } from "./bigscreen.js";

/** The element for each game; a game without one cannot be shown. */
const VIEWS = {
  tictactoe: async () => "chorus-tictactoe",
  arena: async () => (await import("./arena-view.js"), "chorus-arena"),
};

class RoomView extends HTMLElement {
  #view = null;
  #status = notice();

  async connectedCallback() {
    const room = this.getAttribute("arg");
    const c = session.chorus;
    this.replaceChildren(h("section", { class: "screen" }, h("p", { class: "splash", text: "Opening the room…" })));
    let initial, game, tag;
    try {
      initial = await c.rooms.state(room);
      if (!/^[A-Za-z0-9_-]+$/.test(initial.game) || !VIEWS[initial.game]) throw Object.assign(new Error("unknown game"), { code: "not_found" });
      [game, tag] = await Promise.all([import(`../games/${initial.game}.js`), VIEWS[initial.game]()]);
    } catch (err) {
      if (!this.isConnected) return;
      this.#status.show(err?.code === "forbidden" ? "You are not in this room." : describe(err));
      this.replaceChildren(h("section", { class: "screen narrow" },
        h("h1", { text: "Game" }), this.#status, h("a", { class: "button secondary", href: "#/play", text: "Back to Play" })));
      return;
    }
    if (!this.isConnected) return;
    const me = session.user.id;
    const playing = initial.players.some((p) => p.id === me);
    const names = initial.players.map((p) => p.name);
    this.#view = document.createElement(tag);
    const leave = h("button", { class: "ghost small danger", type: "button", text: initial.game === "arena" ? "Leave game" : "Resign", hidden: initial.over || !playing });
    let armed = false;
    leave.addEventListener("click", async () => {
      if (!armed) {
        armed = true;
        leave.textContent = "Click again to confirm";
        return;
      }
      leave.disabled = true;
      try {
        await c.rooms.leave(room);
      } catch (err) {
        this.#status.show(describe(err));
        leave.disabled = false;
      }
    });
    leave.addEventListener("blur", () => {
      armed = false;
      leave.textContent = initial.game === "arena" ? "Leave game" : "Resign";
    });
    const result = h("div", { class: "result card", role: "status", "aria-live": "polite", hidden: true });
    this.addEventListener("ttt-over", (e) => this.#over(result, leave, e.detail, me));
    this.addEventListener("arena-over", (e) => this.#over(result, leave, e.detail, me));
    const section = h("section", { class: `screen room room-${initial.game}` });
    // Big screen: the room large with a join code; a phone steers this seat (./bigscreen.js).
    const big = playing && !initial.over ? bigScreenButton({ section, view: this.#view, chorus: c, room }) : null;
    section.append(
      h("div", { class: "screen-head" },
        h("div", {},
          h("h1", { text: game.meta.name }),
          h("p", { class: "muted small players-line", text: names.join(" vs ") })),
        h("div", { class: "row" }, big, leave)),
      this.#status,
      result,
      this.#view,
      h("chorus-voice-panel", { channel: `room-${room}` }));
    this.replaceChildren(section);
    this.#view.start({ chorus: c, room, me, game, initial });
  }

  disconnectedCallback() {
    this.#view?.stop?.();
    this.#view = null;
  }

  /** The end: who won, and the way back. */
  #over(result, leave, state, me) {
    leave.hidden = true;
    const winner = state.winner;
    let title;
    if (state.draw) title = "It's a draw.";
    else if (winner === me) title = "You won!";
    else if (winner) title = "You lost.";
    else title = "The game is over.";
    result.replaceChildren(
      h("strong", { class: "result-title", text: title }),
      winner === me && session.signedIn ? h("span", { class: "muted", text: "Your coins for the win are on their way to your wallet." }) : null,
      h("span", { class: "row" },
        h("a", { class: "button primary small", href: "#/play", text: "Play again" }),
        winner === me && session.signedIn ? h("a", { class: "button secondary small", href: "#/store", text: "Go to the store" }) : null,
        h("a", { class: "button ghost small", href: "#/leaderboard", text: "Leaderboard" })),
    );
    result.dataset.outcome = state.draw ? "draw" : winner === me ? "won" : "lost";
    result.hidden = false;
  }
}

customElements.define("chorus-room", RoomView);
