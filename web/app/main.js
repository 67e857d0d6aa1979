// main.js — the app's shell: a hash router that mounts one screen element at a time in
// <main>, the navigation, the signed-in user's corner, and the connection-lost banner.
// Each screen is a custom element in its own file; they reach the platform through the
// session's Chorus client only.
//
// Routes: #/login #/lobby #/friends #/play #/room/<id> #/store #/leaderboard, and #pad=<code>
// (a phone as a gamepad: ./pad-view.js, as a guest when nobody is signed in)

import { session } from "./session.js";
import { h } from "./dom.js";
import { describe } from "./errors.js";

/**
 * Where each screen's element is defined, loaded the first time the screen is shown (an
 * element made before its definition upgrades when it arrives), so the first visit loads
 * the login screen and not every game, the voice mesh and the QR encoder.
 */
const SCREENS = {
  "chorus-accounts": "./accounts-view.js",
  "chorus-lobby": "./lobby-view.js",
  "chorus-friends": "./friends-view.js",
  "chorus-play": "./play-view.js",
  "chorus-room": "./room-view.js",
  "chorus-store": "./store-view.js",
  "chorus-leaderboard": "./leaderboard-view.js",
  "chorus-pad": "./pad-view.js",
};

/** name → [label in the nav (null: not in it), element, needs a signed-in user]. */
const ROUTES = {
  lobby: ["Lobby", "chorus-lobby", false],
  friends: ["Friends", "chorus-friends", true],
  play: ["Play", "chorus-play", false],
  store: ["Store", "chorus-store", true],
  leaderboard: ["Leaderboard", "chorus-leaderboard", false],
  room: [null, "chorus-room", false],
  login: [null, "chorus-accounts", false],
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const banner = document.getElementById("banner");
/** A message for the login screen (why the session ended, why resuming failed). */
let loginNote = "";

/** The route in the hash: [name, argument]. */
function route() {
  const [name = "", arg = ""] = location.hash.replace(/^#\/?/, "").split("/");
  return [ROUTES[name] ? name : "", decodeURIComponent(arg)];
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

/** The code of a controller link (`#pad=CODE`, any case), or null. */
function padCode() {
  const m = /^#pad=([A-Za-z0-9]*)$/.exec(location.hash);
  return m ? m[1].toUpperCase() : null;
}

/** Mounts the screen for the current hash and session (only when it differs). */
function render() {
  const code = padCode();
  if (code !== null) {
    if (!session.chorus) session.guest();
    nav.hidden = true;
    who.replaceChildren();
    if (main.dataset.key === `pad/${code}`) return;
    return mount(h("chorus-pad", { code }), `pad/${code}`, "Controller");
  }
  let [name, arg] = route();
  if (!session.chorus) {
    if (name !== "login") return history.replaceState(null, "", "#/login"), render();
  } else if (!session.user) {
    return mount(h("p", { class: "splash", text: "Connecting…" }), "connecting");
  } else if (!name || name === "login") {
    return history.replaceState(null, "", "#/lobby"), render();
  }
  const [label, tag, needsUser] = ROUTES[name];
  const key = `${name}/${arg}/${session.user?.id ?? ""}`;
  renderNav(name);
  if (main.dataset.key === key) return;
  let el;
  if (needsUser && !session.signedIn) {
    el = h("section", { class: "screen narrow" },
      h("h1", { text: label }),
      h("div", { class: "card empty" },
        h("p", { text: `Sign in to use ${label.toLowerCase()}: guests can chat-read, play and see the leaderboard.` }),
        h("button", { class: "primary", text: "Sign in or sign up", on: { click: () => session.logout() } })));
  } else {
    el = document.createElement(tag);
    if (arg) el.setAttribute("arg", arg);
    if (name === "login" && loginNote) el.setAttribute("note", loginNote);
  }
  loginNote = "";
  mount(el, key, label ?? (name === "room" ? "Game" : "Welcome"));
}

function mount(el, key, title = "") {
  main.dataset.key = key;
  main.replaceChildren(el);
  const module = SCREENS[el.localName];
  if (module && !customElements.get(el.localName)) {
    import(module).catch((err) => {
      if (main.dataset.key === key) {
        main.replaceChildren(h("p", { class: "notice error", role: "alert", text: `This screen could not load: ${describe(err)}` }));
      }
    });
  }
  document.title = title ? `${title} · Chorus` : "Chorus";
}

function renderNav(current) {
  const show = Boolean(session.user);
  nav.hidden = !show;
  who.replaceChildren();
  if (!show) return;
  nav.replaceChildren(
    ...Object.entries(ROUTES)
      .filter(([, [label]]) => label)
      .map(([name, [label]]) =>
        h("a", { href: `#/${name}`, "aria-current": name === current || (current === "room" && name === "play") ? "page" : false, text: label })),
  );
  const u = session.user;
  who.append(
    h("span", { class: "me", title: session.signedIn ? "Signed in" : "Playing as a guest" },
      h("span", { class: "avatar", "aria-hidden": "true", text: u.name.slice(0, 1).toUpperCase() }),
      h("span", { class: "me-name", text: u.name }),
      session.signedIn ? null : h("span", { class: "tag", text: "guest" })),
    h("button", {
      class: "ghost small",
      text: session.signedIn ? "Log out" : "Sign in",
      on: { click: () => session.logout() },
    }),
  );
}

/** The banner follows the client's state: shown while a lost connection is being restored. */
let offState = null;
session.addEventListener("client", () => {
  offState?.();
  banner.hidden = true;
  const c = session.chorus;
  if (!c) return;
  let connected = c.state === "connected";
  offState = c.on("state", ({ state }) => {
    if (state === "connected") connected = true;
    banner.hidden = state === "connected" || !connected;
  });
});
session.addEventListener("change", () => render());
session.addEventListener("match", (e) => go(`#/room/${encodeURIComponent(e.detail.room)}`));
session.addEventListener("ended", (e) => {
  loginNote = e.detail;
  render();
});
window.addEventListener("hashchange", () => render());

document.getElementById("skip").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

// Start: a stored session signs in again; otherwise the login screen.
session
  .resume()
  .then((resumed) => {
    if (!resumed) render();
  })
  .catch((err) => {
    loginNote = `Could not restore your session. ${describe(err)}`;
    render();
  });
