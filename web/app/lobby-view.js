// lobby-view.js — <chorus-lobby>: the lobby chat everyone shares (guests read only), with a
// short welcome and a way into a game.

import { session } from "./session.js";
import { h } from "./dom.js";
import "./chat-view.js";
import "./voice-panel.js";

class LobbyView extends HTMLElement {
  connectedCallback() {
    const chat = document.createElement("chorus-chat");
    this.replaceChildren(
      h("section", { class: "screen" },
        h("div", { class: "screen-head" },
          h("h1", { text: "Lobby" }),
          h("a", { class: "button primary", href: "#/play", text: "Play a game" })),
        h("chorus-voice-panel", { channel: "lobby" }),
        h("div", { class: "card chat-card" }, chat)),
    );
    chat.start({
      chorus: session.chorus,
      where: "lobby",
      me: session.user.id,
      readOnly: !session.signedIn,
      label: "Lobby messages",
    });
  }
}

customElements.define("chorus-lobby", LobbyView);
