// tictactoe-view.js — <chorus-tictactoe>: the board of a tic-tac-toe room. Which cells may be
// clicked is decided by the game file itself (games/tictactoe.js, imported by the room
// screen): a cell is clickable only when its `command()` on the current state accepts it, so
// the browser and the rooms worker cannot disagree. Moves and takebacks are svc.rooms.input
// requests; the state comes from room.{rid}.state broadcasts (refetched after a reconnect).
//
//   el.start({chorus, room, me, game, initial, readOnly}); el.stop(); el.readOnly = true|false
//   (read-only: the board shows the game and takes no move: a big screen whose seat a
//   phone steers)
//   dispatches CustomEvent("ttt-over", {detail: state, bubbles: true}) once the game is over.

import { h, minutes } from "./dom.js";
import { describe } from "./errors.js";

class TicTacToeView extends HTMLElement {
  #o = null;
  #seq = -1;
  #state = null;
  #players = [];
  #off = null;
  #status = h("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  #turnSince = 0;
  #clock = null;
  #busy = false;
  #readOnly = false;

  /** Whether the board takes no input (a big screen: a phone plays this seat). */
  get readOnly() {
    return this.#readOnly;
  }

  set readOnly(on) {
    this.#readOnly = Boolean(on);
    if (this.#state) this.#render();
  }

  /** @param {{chorus: any, room: string, me: string, game: any, initial: {seq: number, state: any, players: {id: string, name: string}[]}}} o */
  start(o) {
    this.stop();
    this.#o = o;
    if ("readOnly" in o) this.#readOnly = Boolean(o.readOnly);
    this.#players = o.initial.players;
    this.#take(o.initial.seq, o.initial.state);
    const refetch = () => o.chorus.rooms.state(o.room).then((r) => this.#take(r.seq, r.state), (err) => this.#say(describe(err)));
    this.#off = o.chorus.rooms.onState(o.room, (d) => d && this.#take(d.seq, d.state), {
      restored: refetch, // broadcasts may have been missed while disconnected
      error: (err) => this.#say(describe(err)),
    });
    this.#off.ready.then(refetch, () => {}); // anything between the first fetch and the subscription
    this.#clock = setInterval(() => this.#renderTurn(), 1000);
  }

  stop() {
    this.#off?.();
    this.#off = null;
    clearInterval(this.#clock);
  }

  disconnectedCallback() {
    this.stop();
  }

  /** A state newer than the one shown replaces it. */
  #take(seq, state) {
    if (!state || typeof seq !== "number" || seq <= this.#seq) return;
    if (state.turn !== this.#state?.turn) this.#turnSince = Date.now();
    this.#seq = seq;
    this.#state = state;
    this.#render();
    if (this.#o.game.over(state)) this.dispatchEvent(new CustomEvent("ttt-over", { detail: state, bubbles: true }));
  }

  #say(text) {
    this.#status.textContent = text;
    this.#status.hidden = !text;
  }

  #name(id) {
    return this.#players.find((p) => p.id === id)?.name ?? "?";
  }

  /** Whether the game file accepts `input` from me now. */
  #legal(input) {
    if (this.#busy || this.#readOnly) return false;
    return Array.isArray(this.#o.game.command(this.#state, this.#o.me, input).events);
  }

  async #send(input) {
    this.#busy = true;
    this.#render();
    try {
      const { seq } = await this.#o.chorus.rooms.input(this.#o.room, input);
      this.#say("");
      if (seq > this.#seq) await this.#o.chorus.rooms.state(this.#o.room).then((r) => this.#take(r.seq, r.state));
    } catch (err) {
      this.#say(describe(err));
    } finally {
      this.#busy = false;
      this.#render();
    }
  }

  #render() {
    const { me, game } = this.#o;
    const s = this.#state;
    const myMark = s.marks[me];
    const cells = s.board.map((mark, i) => {
      const legal = this.#legal({ cell: i });
      const where = `Row ${Math.floor(i / 3) + 1}, column ${(i % 3) + 1}`;
      return h("button", {
        class: `cell${mark ? ` mark-${mark.toLowerCase()}` : ""}${legal ? " legal" : ""}${s.moves.at(-1)?.cell === i ? " last" : ""}`,
        type: "button",
        role: "gridcell",
        dataset: { cell: String(i) },
        "aria-label": `${where}: ${mark ?? (legal ? "empty, play here" : "empty")}`,
        disabled: !legal,
        text: mark ?? "",
        on: { click: () => this.#send({ cell: i }) },
      });
    });
    const actions = [];
    if (s.takeback && s.takeback !== me && !game.over(s)) {
      actions.push(h("span", { class: "takeback-ask" }, `${this.#name(s.takeback)} asks to take back their last move.`),
        h("button", { class: "primary small", type: "button", text: "Allow takeback", disabled: !this.#legal({ takeback: "accept" }), on: { click: () => this.#send({ takeback: "accept" }) } }));
    } else if (s.takeback === me) {
      actions.push(h("span", { class: "muted small", text: "Takeback asked: waiting for an answer." }));
    } else if (!game.over(s) && s.players.includes(me)) {
      actions.push(h("button", { class: "ghost small", type: "button", text: "Ask to take back", disabled: !this.#legal({ takeback: "ask" }), on: { click: () => this.#send({ takeback: "ask" }) } }));
    }
    const legend = s.players.map((id) =>
      h("span", { class: `player-chip${s.turn === id ? " to-move" : ""}` },
        h("span", { class: `mark mark-${s.marks[id].toLowerCase()}`, text: s.marks[id] }),
        h("span", { text: id === me ? `${this.#name(id)} (you)` : this.#name(id) })));
    this.replaceChildren(
      h("div", { class: "ttt" },
        h("div", { class: "ttt-side" },
          h("div", { class: "legend" }, legend),
          h("p", { class: "turn", role: "status", "aria-live": "polite" }),
          h("div", { class: "ttt-actions" }, actions),
          this.#status),
        h("div", { class: "board", role: "grid", "aria-label": `Board, you play ${myMark ?? "no mark"}` },
          [0, 1, 2].map((r) => h("div", { role: "row", class: "board-row" }, cells.slice(r * 3, r * 3 + 3))))),
    );
    this.#renderTurn();
  }

  #renderTurn() {
    const turn = this.querySelector(".turn");
    if (!turn || !this.#state) return;
    const s = this.#state;
    const me = this.#o.me;
    if (this.#o.game.over(s)) {
      const f = s.forfeit;
      const why = f ? (f.reason === "timeout" ? `${this.#name(f.player)} ran out of time. ` : `${this.#name(f.player)} resigned. `) : "";
      turn.textContent = s.draw ? "Draw: the board is full." : `${why}${s.winner === me ? "You win!" : `${this.#name(s.winner)} wins.`}`;
      turn.dataset.state = "over";
      return;
    }
    const limit = (this.#o.game.meta.turn_timeout_ms ?? 60000) / 1000;
    const left = minutes(Math.max(0, limit - (Date.now() - this.#turnSince) / 1000));
    turn.dataset.state = s.turn === me ? "mine" : "theirs";
    turn.textContent = s.turn === me ? `Your turn (${s.marks[me]}) · ${left} left` : `${this.#name(s.turn)} to move · ${left} left`;
  }
}

customElements.define("chorus-tictactoe", TicTacToeView);
