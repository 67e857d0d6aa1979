// session.js — the one piece of global state: who is signed in and their Chorus connection.
//
// Only the refresh token is kept (localStorage, key "chorus.refresh"); the access token lives
// in memory. On load, resume() trades the refresh token for a fresh pair and connects to the
// private endpoint; login/signup do the same from a name and password; guest() connects to the
// public endpoint. Refreshes are serialised across tabs (Web Locks) because refresh tokens
// rotate: using one twice would be taken for a theft and end the session.
//
// Events: "client" (a new client, or none), "change" (signed out, or the client was welcomed
// as a new user: screens re-render), "match" (detail: a room was found, from `mm.onMatch`),
// "ended" (the platform ended the session: detail = a reason for the login screen).

import { connect, tokenExpiry, ChorusError } from "../chorus.js";

const KEY = "chorus.refresh";
/** How long a temporary guest connection (login, sign-up, refresh) may take to be welcomed. */
const GUEST_READY_MS = 8000;
/** Reconnect backoff of the app's connection: quick first tries, at most 10 s apart. */
const BACKOFF = { minBackoffMs: 400, maxBackoffMs: 10000 };

/** Runs `fn(client)` on a short-lived guest connection, then closes it. */
async function withGuest(fn) {
  const guest = connect({ ...BACKOFF, connectTimeoutMs: GUEST_READY_MS });
  try {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new ChorusError("unavailable", "the server does not answer", { local: true })), GUEST_READY_MS);
    });
    try {
      await Promise.race([guest.ready(), late]);
    } finally {
      clearTimeout(timer);
    }
    return await fn(guest);
  } finally {
    guest.close();
  }
}

class Session extends EventTarget {
  /** The live Chorus client, or null when nobody is signed in and no guest plays. */
  chorus = null;
  /** "user", "guest", or null. */
  mode = null;
  /** `{id, name}` of the signed-in user or the guest (a guest's id changes per connection). */
  get user() {
    return this.chorus?.user ?? null;
  }
  /** Whether a signed-in user (not a guest) holds the session. */
  get signedIn() {
    return this.mode === "user";
  }

  /** Settles when the match inbox (`user.{self}.match`) is subscribed: join only after it. */
  matchReady = Promise.resolve();
  #offMatch = null;

  /** An access token to hand out once (from login or resume), before any refresh. */
  #fresh = null;

  /** On page load: the stored refresh token, if any, signs in again. False when there is none. */
  async resume() {
    if (!localStorage.getItem(KEY)) return false;
    try {
      this.#fresh = await this.#refresh();
    } catch (err) {
      if (["unauthorized", "forbidden", "revoked"].includes(err?.code)) localStorage.removeItem(KEY);
      throw err;
    }
    this.#connectPrivate();
    return true;
  }

  /** Logs in with a name and password. */
  async login(name, password) {
    const pair = await withGuest((g) => g.accounts.login(name, password));
    localStorage.setItem(KEY, pair.refresh_token);
    this.#fresh = pair.access_token;
    this.#connectPrivate();
  }

  /** Creates an account, then logs in. */
  async signup(name, password) {
    await withGuest((g) => g.accounts.signup(name, password));
    await this.login(name, password);
  }

  /** Plays as a guest: the public endpoint, nothing stored. */
  guest() {
    this.#replace(connect({ ...BACKOFF }), "guest");
  }

  /** Logs out: revokes the session's refresh tokens, forgets them, closes the connection. */
  async logout() {
    const token = localStorage.getItem(KEY);
    const c = this.chorus;
    if (token && c && this.mode === "user") {
      await c.accounts.logout(token).catch(() => {}); // gone from this browser either way
    }
    localStorage.removeItem(KEY);
    this.#replace(null, null);
  }

  #connectPrivate() {
    this.#replace(connect({ ...BACKOFF, getToken: () => this.#getToken() }), "user");
  }

  /** chorus.js asks for a token: the fresh one from login once, then a refresh each time. */
  async #getToken() {
    const fresh = this.#fresh;
    this.#fresh = null;
    if (fresh && (tokenExpiry(fresh) ?? 0) - Date.now() > 60000) return fresh;
    return this.#refresh();
  }

  /** Trades the stored refresh token for a new pair (one tab at a time); the access token. */
  async #refresh() {
    const run = async () => {
      const token = localStorage.getItem(KEY);
      if (!token) throw new ChorusError("unauthorized", "signed out", { local: true });
      const c = this.chorus;
      const pair =
        c && c.state === "connected" && c.user?.ns === "private"
          ? await c.accounts.refresh(token)
          : await withGuest((g) => g.accounts.refresh(token));
      localStorage.setItem(KEY, pair.refresh_token);
      return pair.access_token;
    };
    return globalThis.navigator?.locks ? navigator.locks.request("chorus-refresh", run) : run();
  }

  #replace(client, mode) {
    const old = this.chorus;
    this.chorus = client;
    this.mode = mode;
    old?.close();
    this.#offMatch?.();
    this.#offMatch = null;
    this.matchReady = Promise.resolve();
    if (client) {
      // Matches arrive on the user's inbox wherever the player is; subscribed before any join.
      this.#offMatch = client.mm.onMatch((m) => this.dispatchEvent(new CustomEvent("match", { detail: m })));
      this.matchReady = this.#offMatch.ready;
      client.on("close", (d) => {
        if (d.reconnect || this.chorus !== client || d.code === 1000) return;
        // The platform ended it (a refused token, a kick): back to the login screen.
        if (mode === "user" && [4500, 4503].includes(d.code)) localStorage.removeItem(KEY);
        this.#replace(null, null);
        this.dispatchEvent(new CustomEvent("ended", { detail: d.code === 4503 ? "You were signed out (your session was ended elsewhere)." : "Your session has ended. Please sign in again." }));
      });
      // Screens render once the user is known; again only if it changes (a guest reconnected).
      let seen = null;
      client.on("welcome", (d) => {
        if (this.chorus !== client || d.user.id === seen) return;
        seen = d.user.id;
        this.dispatchEvent(new Event("change"));
      });
    } else {
      this.dispatchEvent(new Event("change"));
    }
    this.dispatchEvent(new Event("client"));
  }
}

/** The session of this page. */
export const session = new Session();
