// chat-view.js — <chorus-chat>: one conversation (the lobby, or a DM with a friend) with its
// history, live messages, and edit and retract of one's own messages. The lobby and the
// friends screen both embed it.
//
//   el.start({chorus, where: "lobby" | {dm: peerId}, me, readOnly, label})
//   el.stop()
//
// History comes from chat.history; live events from chat.on(channel) or chat.onDm (filtered
// to the peer). After a reconnect the history is fetched again (messages may have been missed).

import { h, clock } from "./dom.js";
import { describe } from "./errors.js";

/** At most this many messages stay in the DOM (the oldest go first). */
const MAX_MESSAGES = 200;
const MAX_CHARS = 500;

class ChatView extends HTMLElement {
  #c = null;
  #where = null;
  #me = null;
  #off = null;
  #list = null;
  #status = null;
  /** id → <li>, for edits and retracts. */
  #items = new Map();

  /** @param {{chorus: any, where: string | {dm: string}, me: string, readOnly?: boolean, label?: string}} o */
  start({ chorus, where, me, readOnly = false, label = "Messages" }) {
    this.stop();
    this.#c = chorus;
    this.#where = where;
    this.#me = me;
    this.#items.clear();
    this.#list = h("ol", { class: "messages", "aria-label": label, "aria-live": "polite", tabindex: "0" });
    this.#status = h("p", { class: "notice", role: "status", hidden: true });
    const input = h("input", { id: `compose-${this.#key()}`, maxlength: String(MAX_CHARS), autocomplete: "off", placeholder: readOnly ? "" : "Write a message…", disabled: readOnly });
    const send = h("button", { class: "primary", type: "submit", text: "Send", disabled: readOnly });
    const form = h("form", { class: "composer", "aria-label": "Send a message" },
      h("label", { class: "sr-only", for: input.id, text: typeof where === "string" ? "Message to the lobby" : "Direct message" }),
      input, send);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      send.disabled = true;
      try {
        const msg = typeof where === "string" ? await chorus.chat.send(where, text) : await chorus.chat.dm(where.dm, text);
        input.value = "";
        this.#upsert(msg);
        this.#say("");
      } catch (err) {
        this.#say(describe(err));
      } finally {
        send.disabled = false;
        input.focus();
      }
    });
    this.replaceChildren(this.#list, this.#status, readOnly ? h("p", { class: "hint", text: "Guests can read the lobby. Sign in to chat." }) : form);
    const handler = (ev) => this.#onEvent(ev);
    const opts = { restored: () => this.#load(), error: (err) => this.#say(describe(err)) };
    this.#off =
      typeof where === "string"
        ? chorus.chat.on(where, handler, opts)
        : chorus.chat.onDm((ev) => {
            const m = ev?.message;
            if (m && (m.author?.id === where.dm || m.to === where.dm)) handler(ev);
          }, opts);
    this.#load();
  }

  stop() {
    this.#off?.();
    this.#off = null;
  }

  disconnectedCallback() {
    this.stop();
  }

  #key() {
    return typeof this.#where === "string" ? this.#where : `dm-${this.#where.dm}`;
  }

  #say(text) {
    this.#status.textContent = text;
    this.#status.hidden = !text;
  }

  async #load() {
    try {
      const { messages } = await this.#c.chat.history(this.#where, { limit: 50 });
      this.#items.clear();
      this.#list.replaceChildren();
      for (const m of [...messages].reverse()) this.#upsert(m);
      if (!messages.length) this.#list.append(h("li", { class: "empty-line", text: "No messages yet. Say hi!" }));
    } catch (err) {
      this.#say(describe(err));
    }
  }

  #onEvent(ev) {
    if (!ev?.message?.id) return;
    if (ev.event === "retract") {
      this.#items.get(ev.message.id)?.remove();
      this.#items.delete(ev.message.id);
    } else {
      this.#upsert(ev.message);
    }
  }

  /** Adds a message, or replaces it in place (an edit, or the echo of our own send). */
  #upsert(m) {
    const stick = this.#list.scrollHeight - this.#list.scrollTop - this.#list.clientHeight < 40;
    const li = this.#item(m);
    const old = this.#items.get(m.id);
    this.#list.querySelector(".empty-line")?.remove();
    if (old) old.replaceWith(li);
    else this.#list.append(li);
    this.#items.set(m.id, li);
    while (this.#list.childElementCount > MAX_MESSAGES) {
      const oldest = this.#list.firstElementChild;
      this.#items.delete(oldest.dataset.id);
      oldest.remove();
    }
    if (stick || m.author?.id === this.#me) this.#list.scrollTop = this.#list.scrollHeight;
  }

  #item(m) {
    const mine = m.author?.id === this.#me;
    const li = h("li", { class: mine ? "msg mine" : "msg", dataset: { id: m.id } },
      h("div", { class: "msg-head" },
        h("span", { class: "author", text: mine ? "You" : m.author?.name ?? "?" }),
        h("time", { datetime: new Date(m.ts).toISOString(), text: clock(m.ts) }),
        m.edited_ts ? h("span", { class: "edited", text: "edited" }) : null),
      h("p", { class: "text", text: m.text ?? "" }));
    if (mine) {
      li.append(h("div", { class: "msg-actions" },
        h("button", { class: "link", type: "button", text: "Edit", "aria-label": `Edit your message: ${m.text}`, on: { click: () => this.#edit(li, m) } }),
        h("button", { class: "link danger", type: "button", text: "Delete", "aria-label": `Delete your message: ${m.text}`, on: { click: () => this.#retract(m) } })));
    }
    return li;
  }

  #edit(li, m) {
    const input = h("input", { value: m.text ?? "", maxlength: String(MAX_CHARS), "aria-label": "Edit message" });
    const form = h("form", { class: "edit-form" }, input,
      h("button", { class: "primary small", type: "submit", text: "Save" }),
      h("button", { class: "ghost small", type: "button", text: "Cancel", on: { click: () => form.replaceWith(text) } }));
    const text = li.querySelector(".text");
    text.replaceWith(form);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") form.replaceWith(text);
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value || value === m.text) return form.replaceWith(text);
      try {
        this.#upsert(await this.#c.chat.edit(this.#where, m.id, value));
        this.#say("");
      } catch (err) {
        this.#say(describe(err));
      }
    });
    input.focus();
    input.select();
  }

  async #retract(m) {
    try {
      await this.#c.chat.retract(this.#where, m.id);
      this.#onEvent({ event: "retract", message: { id: m.id } });
      this.#say("");
    } catch (err) {
      this.#say(describe(err));
    }
  }
}

customElements.define("chorus-chat", ChatView);
