// friends-view.js — <chorus-friends>: add a friend by name, requests in and out (accept,
// decline, cancel), block and unblock, a green dot for each friend online, and direct
// messages with one friend at a time.
//
// Relationships come from friends.list and are fetched again when the inbox says something
// changed (friends.onEvent); who is online comes from presence.friends and presence.onChange.

import { session } from "./session.js";
import { h, notice } from "./dom.js";
import { describe } from "./errors.js";
import "./chat-view.js";

class FriendsView extends HTMLElement {
  #c = null;
  #offs = [];
  #lists = { friends: [], incoming: [], outgoing: [], blocked: [] };
  /** Ids of friends online now. */
  #online = new Set();
  /** The friend whose DMs are open, `{id, name}`, or null. */
  #peer = null;
  /** peer id → unread DMs (for friends whose conversation is not open). */
  #unread = new Map();
  #status = notice();
  #panel = h("div", { class: "lists" });
  #dm = h("div", { class: "card dm-card" });

  connectedCallback() {
    this.#c = session.chorus;
    const name = h("input", { id: "add-friend", required: true, minlength: "3", maxlength: "24", autocomplete: "off", autocapitalize: "off", spellcheck: "false", placeholder: "Their name" });
    const add = h("form", { class: "inline-form", "aria-label": "Add a friend" },
      h("label", { for: "add-friend", text: "Add a friend by name" }),
      h("div", { class: "row" }, name, h("button", { class: "primary", type: "submit", text: "Send request" })));
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      const who = name.value.trim();
      if (!who) return;
      try {
        const { user } = await this.#c.accounts.lookup(who);
        if (user.id === session.user.id) return this.#status.show("That is you.");
        const { status } = await this.#c.friends.request(user.id);
        this.#status.show(status === "friends" ? `You and ${user.name} are now friends.` : `Request sent to ${user.name}.`, "ok");
        name.value = "";
        this.#reload();
      } catch (err) {
        this.#status.show(err?.code === "not_found" ? `Nobody is called “${who}”.` : describe(err));
      }
    });
    this.replaceChildren(
      h("section", { class: "screen" },
        h("div", { class: "screen-head" }, h("h1", { text: "Friends" })),
        h("div", { class: "split" },
          h("div", { class: "card" }, add, this.#status, this.#panel),
          this.#dm)),
    );
    this.#renderDm();
    const again = { restored: () => this.#reload() };
    this.#offs = [
      this.#c.friends.onEvent(() => this.#reload(), again),
      this.#c.presence.onChange((p) => {
        if (p.online) this.#online.add(p.user);
        else this.#online.delete(p.user);
        this.#render();
      }, again),
      this.#c.chat.onDm((ev) => {
        const m = ev?.message;
        if (ev?.event !== "send" || !m || m.author?.id === session.user.id || m.author?.id === this.#peer?.id) return;
        this.#unread.set(m.author.id, (this.#unread.get(m.author.id) ?? 0) + 1);
        this.#render();
      }),
    ];
    this.#reload();
  }

  disconnectedCallback() {
    for (const off of this.#offs) off();
    this.#offs = [];
  }

  async #reload() {
    try {
      const [lists, presence] = await Promise.all([this.#c.friends.list(), this.#c.presence.friends()]);
      this.#lists = lists;
      this.#online = new Set(presence.online.map((p) => p.id));
      this.#render();
    } catch (err) {
      this.#status.show(describe(err));
    }
  }

  /** Runs a friends call, then shows its outcome and reloads. */
  async #act(fn, done) {
    try {
      await fn();
      if (done) this.#status.show(done, "ok");
      await this.#reload();
    } catch (err) {
      this.#status.show(describe(err));
    }
  }

  #render() {
    const f = this.#c.friends;
    const { friends, incoming, outgoing, blocked } = this.#lists;
    const section = (title, people, row, empty) =>
      h("section", { class: "people", "aria-label": title },
        h("h2", {}, title, people.length ? h("span", { class: "count", text: String(people.length) }) : null),
        people.length ? h("ul", { class: "people-list" }, people.map(row)) : h("p", { class: "hint", text: empty }));
    const person = (p, ...actions) =>
      h("li", { class: "person", dataset: { user: p.id } }, ...actions);
    const name = (p) => h("span", { class: "name", text: p.name });
    const btn = (text, label, fn, cls = "ghost small") => h("button", { class: cls, type: "button", text, "aria-label": label, on: { click: fn } });

    this.#panel.replaceChildren(...[
      section("Friends", [...friends].sort((a, b) => Number(this.#online.has(b.id)) - Number(this.#online.has(a.id)) || a.name.localeCompare(b.name)), (p) => {
        const online = this.#online.has(p.id);
        const unread = this.#unread.get(p.id);
        return person(p,
          h("span", { class: online ? "dot online" : "dot", role: "img", "aria-label": online ? "online" : "offline", title: online ? "Online" : "Offline" }),
          name(p),
          unread ? h("span", { class: "badge", "aria-label": `${unread} unread`, text: String(unread) }) : null,
          h("span", { class: "actions" },
            btn("Message", `Message ${p.name}`, () => this.#open(p), this.#peer?.id === p.id ? "secondary small" : "ghost small"),
            btn("Remove", `Remove ${p.name} from friends`, () => this.#act(() => f.remove(p.id), `${p.name} is no longer your friend.`)),
            btn("Block", `Block ${p.name}`, () => this.#act(() => f.block(p.id), `You blocked ${p.name}.`), "ghost small danger")));
      }, "No friends yet: add someone by name above."),
      section("Requests for you", incoming, (p) =>
        person(p, name(p), h("span", { class: "actions" },
          btn("Accept", `Accept ${p.name}'s request`, () => this.#act(() => f.accept(p.id), `You and ${p.name} are now friends.`), "primary small"),
          btn("Decline", `Decline ${p.name}'s request`, () => this.#act(() => f.decline(p.id))),
          btn("Block", `Block ${p.name}`, () => this.#act(() => f.block(p.id), `You blocked ${p.name}.`), "ghost small danger"))),
        "No requests waiting."),
      section("Sent requests", outgoing, (p) =>
        person(p, name(p), h("span", { class: "muted small", text: "waiting" }), h("span", { class: "actions" },
          btn("Cancel", `Cancel the request to ${p.name}`, () => this.#act(() => f.remove(p.id))))),
        "None pending."),
      blocked.length
        ? section("Blocked", blocked, (p) =>
            person(p, name(p), h("span", { class: "actions" }, btn("Unblock", `Unblock ${p.name}`, () => this.#act(() => f.unblock(p.id)))))
          , "")
        : null,
    ].filter(Boolean));
    if (this.#peer && !friends.some((p) => p.id === this.#peer.id)) {
      this.#peer = null;
      this.#renderDm();
    }
  }

  #open(p) {
    this.#peer = p;
    this.#unread.delete(p.id);
    this.#renderDm();
    this.#render();
    this.#dm.querySelector("input")?.focus();
  }

  #renderDm() {
    this.#dm.querySelector("chorus-chat")?.stop();
    if (!this.#peer) {
      this.#dm.replaceChildren(h("div", { class: "empty" },
        h("h2", { text: "Direct messages" }),
        h("p", { class: "hint", text: "Choose “Message” beside a friend to talk in private." })));
      return;
    }
    const chat = document.createElement("chorus-chat");
    this.#dm.replaceChildren(
      h("div", { class: "dm-head" },
        h("h2", {}, "Messages with ", h("span", { class: "name", text: this.#peer.name })),
        h("button", { class: "ghost small", type: "button", text: "Close", "aria-label": "Close the conversation", on: { click: () => { this.#peer = null; this.#renderDm(); this.#render(); } } })),
      chat);
    chat.start({ chorus: this.#c, where: { dm: this.#peer.id }, me: session.user.id, label: `Messages with ${this.#peer.name}` });
  }
}

customElements.define("chorus-friends", FriendsView);
