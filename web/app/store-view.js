// store-view.js — <chorus-store>: the wallet's balance (live from store.onWallet), its recent
// entries, the catalog with a buy button per good, and what the player owns.
//
// A purchase the player means gets one idempotency key, kept until the store gives a final
// answer: retrying after a lost connection sends the same key, so it is bought at most once.

import { session } from "./session.js";
import { h, clock, notice } from "./dom.js";
import { describe } from "./errors.js";
import { randomKey } from "../chorus.js";

/** How a ledger entry reads. */
const REASONS = { grant: "Welcome coins", purchase: "Purchase", refund: "Refund", reward: "Won a match" };
/** Most ledger entries shown. */
const MAX_ENTRIES = 8;

class StoreView extends HTMLElement {
  #c = null;
  #off = null;
  #goods = [];
  #items = [];
  #entries = [];
  #balance = null;
  /** good id → the idempotency key of the purchase not yet answered for good. */
  #keys = new Map();
  #busy = new Set();
  #status = notice();
  #body = h("div", { class: "store-grid" });

  connectedCallback() {
    this.#c = session.chorus;
    this.replaceChildren(h("section", { class: "screen" },
      h("div", { class: "screen-head" }, h("h1", { text: "Store" })),
      this.#status,
      this.#body));
    this.#off = this.#c.store.onWallet((w) => {
      if (typeof w?.balance === "number") this.#balance = w.balance;
      this.#render();
      this.#loadWallet(); // the entry behind it
    }, { restored: () => this.#load() });
    this.#load();
  }

  disconnectedCallback() {
    this.#off?.();
  }

  async #load() {
    try {
      const [catalog, inventory] = await Promise.all([this.#c.store.catalog(), this.#c.store.inventory()]);
      this.#goods = catalog.goods;
      this.#items = inventory.items;
      await this.#loadWallet();
    } catch (err) {
      this.#status.show(describe(err));
    }
  }

  async #loadWallet() {
    try {
      const w = await this.#c.store.wallet();
      this.#balance = w.balance;
      this.#entries = w.entries.slice(0, MAX_ENTRIES);
      this.#render();
    } catch (err) {
      this.#status.show(describe(err));
    }
  }

  async #buy(good) {
    const key = this.#keys.get(good.id) ?? randomKey();
    this.#keys.set(good.id, key);
    this.#busy.add(good.id);
    this.#render();
    try {
      const r = await this.#c.store.buy(good.id, key);
      this.#keys.delete(good.id);
      this.#balance = r.balance;
      this.#status.show(`You bought ${good.name} for ${r.price} coins.`, "ok");
      this.#items = (await this.#c.store.inventory()).items;
    } catch (err) {
      // A final answer (refused) needs a new key next time; a lost answer retries with this one.
      if (!(err?.local || err?.code === "timeout" || err?.code === "unavailable")) this.#keys.delete(good.id);
      this.#status.show(describe(err));
    } finally {
      this.#busy.delete(good.id);
      this.#render();
    }
  }

  #render() {
    const owned = new Map();
    for (const it of this.#items) owned.set(it.good, (owned.get(it.good) ?? 0) + 1);
    const wallet = h("div", { class: "card wallet", "aria-label": "Wallet" },
      h("span", { class: "muted small", text: "Your coins" }),
      h("strong", { class: "balance", "aria-live": "polite", dataset: { balance: String(this.#balance ?? "") } },
        h("span", { class: "coin", "aria-hidden": "true" }), this.#balance === null ? "…" : String(this.#balance)),
      this.#entries.length
        ? h("ul", { class: "ledger", "aria-label": "Recent wallet activity" }, this.#entries.map((e) =>
            h("li", {},
              h("span", { text: REASONS[e.reason] ?? e.reason }),
              h("time", { class: "muted small", datetime: new Date(e.ts).toISOString(), text: clock(e.ts) }),
              h("span", { class: e.amount >= 0 ? "amount plus" : "amount minus", text: `${e.amount >= 0 ? "+" : "−"}${Math.abs(e.amount)}` }))))
        : null,
      h("p", { class: "hint", text: "Win a rated match to earn coins." }));
    const catalog = h("div", { class: "card catalog" },
      h("h2", { text: "Catalog" }),
      h("ul", { class: "goods" }, this.#goods.map((g) => {
        const have = owned.get(g.id) ?? 0;
        const full = g.limit !== undefined && have >= g.limit;
        const poor = this.#balance !== null && g.price > this.#balance;
        return h("li", { class: "good", dataset: { good: g.id } },
          h("span", { class: `swatch ${g.kind} ${g.id}`, "aria-hidden": "true" }),
          h("span", { class: "good-text" }, h("strong", { text: g.name }), h("span", { class: "muted small", text: g.kind })),
          h("span", { class: "price", text: `${g.price}` }, h("span", { class: "coin small-coin", "aria-hidden": "true" })),
          h("button", {
            class: full ? "ghost small" : "primary small",
            type: "button",
            text: full ? "Owned" : this.#busy.has(g.id) ? "Buying…" : "Buy",
            "aria-label": full ? `${g.name}: owned` : `Buy ${g.name} for ${g.price} coins`,
            title: poor && !full ? "Not enough coins" : null,
            disabled: full || poor || this.#busy.has(g.id),
            on: { click: () => this.#buy(g) },
          }));
      })));
    const inventory = h("div", { class: "card inventory" },
      h("h2", { text: "Your items" }),
      this.#items.length
        ? h("ul", { class: "items", "aria-label": "Your items" }, this.#items.map((it) =>
            h("li", {}, h("span", { class: `swatch ${it.kind} ${it.good}`, "aria-hidden": "true" }), h("span", { text: it.name ?? it.good }))))
        : h("p", { class: "hint", text: "Nothing yet." }));
    this.#body.replaceChildren(wallet, catalog, inventory);
  }
}

customElements.define("chorus-store", StoreView);
