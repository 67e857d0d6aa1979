// accounts-view.js — <chorus-accounts>: log in, sign up, or play as a guest. The form talks
// to the session (which owns tokens); this element only collects input and shows errors.
// Attribute `note`: a message to show first (why the last session ended).

import { session } from "./session.js";
import { h, notice } from "./dom.js";
import { describe } from "./errors.js";

class AccountsView extends HTMLElement {
  #mode = "login";

  connectedCallback() {
    this.render();
  }

  render() {
    const signup = this.#mode === "signup";
    const status = notice();
    if (this.getAttribute("note")) status.show(this.getAttribute("note"), "info");
    const name = h("input", {
      id: "acc-name", name: "username", autocomplete: "username", required: true,
      minlength: "3", maxlength: "24", pattern: "[A-Za-z0-9_\\-]+", autocapitalize: "off", spellcheck: "false",
    });
    const password = h("input", {
      id: "acc-password", name: "password", type: "password", required: true, minlength: "8", maxlength: "128",
      autocomplete: signup ? "new-password" : "current-password",
    });
    const submit = h("button", { class: "primary wide", type: "submit", text: signup ? "Create account" : "Log in" });
    const form = h("form", { class: "stack", "aria-label": signup ? "Sign up" : "Log in" },
      h("div", { class: "field" }, h("label", { for: "acc-name", text: "Name" }), name,
        signup ? h("small", { class: "hint", text: "3–24 letters, digits, - or _" }) : null),
      h("div", { class: "field" }, h("label", { for: "acc-password", text: "Password" }), password,
        signup ? h("small", { class: "hint", text: "At least 8 characters" }) : null),
      status,
      submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      status.show(signup ? "Creating your account…" : "Logging in…", "info");
      try {
        if (signup) await session.signup(name.value.trim(), password.value);
        else await session.login(name.value.trim(), password.value);
      } catch (err) {
        status.show(describe(err));
        submit.disabled = false;
        password.select();
      }
    });
    const tab = (mode, label) =>
      h("button", {
        type: "button", role: "tab", class: "tab", "aria-selected": String(this.#mode === mode), text: label,
        on: { click: () => { this.#mode = mode; this.removeAttribute("note"); this.render(); this.querySelector("#acc-name").focus(); } },
      });
    this.replaceChildren(
      h("section", { class: "screen auth" },
        h("div", { class: "auth-intro" },
          h("h1", { text: "Play together, right here." }),
          h("p", { class: "muted", text: "Chat in the lobby, make friends, and play tic-tac-toe or the coin arena in real time." })),
        h("div", { class: "card auth-card" },
          h("div", { class: "tabs", role: "tablist", "aria-label": "Account" }, tab("login", "Log in"), tab("signup", "Sign up")),
          form,
          h("div", { class: "or", "aria-hidden": "true" }, h("span", { text: "or" })),
          h("button", { type: "button", class: "secondary wide", text: "Play as guest", on: { click: () => session.guest() } }),
          h("p", { class: "hint center", text: "Guests can read the lobby and play unrated games." }),
          padForm())),
    );
  }
}

/** "Join as controller": a code from a big screen opens the phone's controller (#pad=CODE). */
function padForm() {
  const code = h("input", { id: "pad-code", name: "pad-code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: "6", placeholder: "ABC234" });
  const form = h("form", { class: "join-pad" },
    h("label", { for: "pad-code", text: "Join as controller" }),
    h("div", { class: "row" }, code, h("button", { class: "secondary", type: "submit", text: "Join" })),
    h("small", { class: "hint", text: "Got a code from a big screen? Your phone becomes the gamepad." }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = code.value.trim().toUpperCase();
    if (v) location.hash = `#pad=${v}`;
  });
  return form;
}

customElements.define("chorus-accounts", AccountsView);
