// leaderboard-view.js — <chorus-leaderboard>: the best ratings per game (rating.top) and,
// for a signed-in player, their own (rating.me).

import { session } from "./session.js";
import { h, notice } from "./dom.js";
import { describe } from "./errors.js";

const GAMES = [
  ["tictactoe", "Tic-tac-toe"],
  ["arena", "Coin arena"],
];
const TOP = 20;

class LeaderboardView extends HTMLElement {
  #game = GAMES[0][0];
  #status = notice();
  #body = h("div", {});

  connectedCallback() {
    const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Game" }, GAMES.map(([id, name]) =>
      h("button", { class: "tab", role: "tab", type: "button", "aria-selected": String(id === this.#game), dataset: { game: id }, text: name,
        on: { click: () => { this.#game = id; for (const t of tabs.children) t.setAttribute("aria-selected", String(t.dataset.game === id)); this.#load(); } } })));
    this.replaceChildren(h("section", { class: "screen narrow" },
      h("div", { class: "screen-head" }, h("h1", { text: "Leaderboard" })),
      h("div", { class: "card" }, tabs, this.#status, this.#body)));
    this.#load();
  }

  async #load() {
    const game = this.#game;
    const c = session.chorus;
    try {
      const [top, me] = await Promise.all([c.rating.top(game, TOP), session.signedIn ? c.rating.me(game) : null]);
      if (game !== this.#game) return;
      this.#status.show("");
      const myId = session.user.id;
      const rows = top.top.map((r, i) =>
        h("tr", { class: r.id === myId ? "me-row" : null },
          h("td", { class: "rank", text: String(i + 1) }),
          h("td", { text: r.name }),
          h("td", { class: "num", text: String(Math.round(r.rating)) }),
          h("td", { class: "num muted", text: String(r.games) })));
      this.#body.replaceChildren(
        me ? h("div", { class: "my-rating" },
          h("span", { class: "muted small", text: "Your rating" }),
          h("strong", { text: String(Math.round(me.rating)) }),
          h("span", { class: "muted small", text: me.games ? `± ${Math.round(me.rd * 2)} · ${me.games} rated game${me.games === 1 ? "" : "s"}` : "No rated games yet" })) : null,
        rows.length
          ? h("table", { class: "board-table" },
              h("caption", { class: "sr-only", text: `Best ${GAMES.find((g) => g[0] === game)[1]} players` }),
              h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "#" }), h("th", { scope: "col", text: "Player" }), h("th", { scope: "col", class: "num", text: "Rating" }), h("th", { scope: "col", class: "num", text: "Games" }))),
              h("tbody", {}, rows))
          : h("p", { class: "hint", text: "No rated games yet. Be the first!" }));
    } catch (err) {
      this.#status.show(describe(err));
    }
  }
}

customElements.define("chorus-leaderboard", LeaderboardView);
