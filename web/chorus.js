// chorus.js — the Chorus client: one plain ES module, no dependencies, for browsers and Node.
//
//   import { connect } from "./chorus.js";
//   const chorus = connect({ getToken });          // or { url, token }, or nothing: a guest
//   await chorus.ready();
//   const off = chorus.sub("chat.lobby", (data, msg) => show(data));
//   await chorus.chat.send("lobby", "hi");
//
// Layout of this file:
// - ChorusError, ChorusEvent, backoff(), tokenExpiry(), subjectMatches(): small pieces.
// - Chorus: the connection's state machine (disconnected → connecting → connected), the
//   send buffer, calls in flight, subscriptions and their restoration, token refresh.
// - services(): the thin typed helpers (chorus.accounts, .chat, .friends, …).
// The wire contract is protocol/PROTOCOL.md; the close codes come from ./close-codes.js.

import { closeInfo } from "./close-codes.js";

export { CLOSE_CODES, closeInfo } from "./close-codes.js";

/** WebSocket.OPEN, the same in every implementation. */
const OPEN = 1;

/** Defaults of every option; `connect()` documents each. */
const DEFAULTS = {
  minBackoffMs: 500,
  maxBackoffMs: 20000,
  sendBufferLimit: 64,
  requestTimeoutMs: 5000,
  replyGraceMs: 2000,
  connectTimeoutMs: 10000,
  refreshBeforeMs: 30000,
  pingIntervalMs: 25000,
  pongTimeoutMs: 10000,
};

/**
 * An error with the wire code (`forbidden`, `unavailable`, `timeout`, …). `local` is true
 * when chorus.js decided it (a local timeout, a full send buffer, a lost connection) rather
 * than the bridge or a worker.
 */
export class ChorusError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{local?: boolean, subject?: string}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = "ChorusError";
    /** The wire error code. */
    this.code = code;
    /** Whether chorus.js produced it rather than the other side. */
    this.local = Boolean(extra.local);
    /** The subject concerned, when there is one (a refused or revoked subscription). */
    if (extra.subject !== undefined) this.subject = extra.subject;
  }
}

/** The events a Chorus client dispatches; the payload is `detail`. */
export class ChorusEvent extends Event {
  /** @param {string} type @param {unknown} detail */
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

/**
 * Exponential backoff with full jitter, bounded: a random delay in
 * [min, min + min·2^attempt], never above max.
 * @param {number} attempt 0 for the first retry
 * @param {number} minMs
 * @param {number} maxMs
 */
export function backoff(attempt, minMs, maxMs) {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.min(maxMs, minMs + Math.random() * ceiling);
}

/**
 * When a JWT expires, in this machine's clock (ms), or null when it does not say. The
 * lifetime (`exp − iat`) bounds it, so a client clock ahead of or behind the server's
 * neither refreshes in a loop nor too late.
 * @param {string} token
 */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    if (typeof claims.exp !== "number") return null;
    const now = Date.now();
    const byClock = claims.exp * 1000;
    if (typeof claims.iat !== "number") return byClock;
    const lifetime = (claims.exp - claims.iat) * 1000;
    return byClock <= now || byClock - now > lifetime ? now + lifetime : byClock;
  } catch {
    return null;
  }
}

/**
 * Whether a literal subject matches a subscription pattern (`*` one token, `>` the rest).
 * @param {string} pattern
 * @param {string} subject
 */
export function subjectMatches(pattern, subject) {
  if (pattern === subject) return true;
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** A random key, for idempotent purchases. */
export function randomKey() {
  const bytes = new Uint8Array(16);
  if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The endpoint a page served by the bridge connects to. */
function defaultUrl(signedIn) {
  const loc = globalThis.location;
  if (!loc?.host) throw new TypeError("connect(): `url` is required outside a browser page");
  const scheme = loc.protocol === "https:" ? "wss" : "ws";
  const path = signedIn ? "/core/game/v1/real-time/private" : "/core/game/v1/real-time/public";
  return `${scheme}://${loc.host}${path}`;
}

/** Calls fn, reporting a throw without stopping the caller (a handler's bug stays its own). */
function safely(fn, ...args) {
  try {
    fn(...args);
  } catch (err) {
    setTimeout(() => {
      throw err;
    });
  }
}

/**
 * Connects to a Chorus bridge and keeps the connection: see {@link Chorus}.
 * @param {import("./chorus.js").ConnectOptions} [options]
 */
export function connect(options = {}) {
  return new Chorus(options);
}

/**
 * One connection to a bridge that survives disconnects: it reconnects with backoff as the
 * close code allows, restores its subscriptions, refreshes its token, and buffers a bounded
 * number of sends while the link is down. Events (`on(type, fn)` passes `event.detail`):
 * `state` {state, previous}, `welcome` {conn, user, limits}, `close` {code, reason,
 * reconnect}, `error` (a ChorusError nobody else was waiting for).
 */
export class Chorus extends EventTarget {
  /** @type {"disconnected" | "connecting" | "connected"} */
  state = "disconnected";
  /** The welcomed user `{id, name, ns}`, or null before the first welcome. */
  user = null;
  /** This connection's id on its bridge (the `welcome`'s `conn`). */
  conn = null;
  /** The bridge's limits from the `welcome`. */
  limits = null;

  #o;
  #WebSocket;
  #ws = null;
  /** Bumped on every new socket and on close(): async steps of an older one stop. */
  #gen = 0;
  #nextId = 1;
  /** id → {resolve?, reject?, timer?}: requests, acked pubs, sub acks, auth frames, unsubs. */
  #pending = new Map();
  /** pattern (as given, maybe with {self}) → Sub. */
  #subs = new Map();
  /** Sends waiting for a connection, bounded by sendBufferLimit: {send(), reject(err), timer?}. */
  #buffer = [];
  /** Raw msg frames to skip: copies sent once per overlapping subscription. */
  #dupes = new Map();
  #attempt = 0;
  #retryTimer = null;
  #connectTimer = null;
  #refreshTimer = null;
  #pingTimer = null;
  #pongTimer = null;
  #lastSeen = 0;
  #token = null;
  #tokenExp = null;
  #needToken = true;
  /** Set after an `unauthorized` close was answered with a fresh token; cleared by a welcome. */
  #authRetried = false;
  #offline = false;
  #readyWaiters = [];
  #net = null;

  /** @param {import("./chorus.js").ConnectOptions} options */
  constructor(options) {
    super();
    this.#o = { ...DEFAULTS, ...options };
    const signedIn = Boolean(options.token || options.getToken);
    this.#o.url = options.url ?? defaultUrl(signedIn);
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== "function") {
      throw new TypeError("connect(): no global WebSocket here; pass one as `WebSocket`");
    }
    this.#token = options.token ?? null;
    this.#needToken = !this.#token;
    this.#tokenExp = this.#token ? tokenExpiry(this.#token) : null;
    Object.assign(this, services(this));
    this.open();
  }

  // ── events ──────────────────────────────────────────────────────────────────────────

  /**
   * Listens to an event; `fn` gets its detail. Returns a function that stops listening.
   * @param {string} type
   * @param {(detail: any) => void} fn
   */
  on(type, fn) {
    const listener = (e) => fn(e.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  #emit(type, detail) {
    this.dispatchEvent(new ChorusEvent(type, detail));
  }

  #setState(state) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.#emit("state", { state, previous });
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────

  /** Resolves on the next welcome (at once when connected); rejects if the client stops first. */
  ready() {
    if (this.state === "connected") return Promise.resolve();
    if (this.state === "disconnected") {
      return Promise.reject(new ChorusError("unavailable", "not connecting: call open()", { local: true }));
    }
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** (Re)starts connecting after close() or after a close that does not reconnect. */
  open() {
    if (this.state !== "disconnected") return;
    this.#listenToNetwork(true);
    this.#attempt = 0;
    this.#authRetried = false;
    this.#setState("connecting");
    this.#connectNow();
  }

  /** Closes for good (until open()): in-flight calls and buffered sends fail `unavailable`. */
  close() {
    if (this.state === "disconnected") return;
    this.#dropSocket(1000, "closed");
    this.#stop({ code: 1000, reason: "closed", reconnect: false });
  }

  #listenToNetwork(on) {
    const g = globalThis;
    if (typeof g.addEventListener !== "function") return;
    if (on && !this.#net) {
      this.#offline = g.navigator?.onLine === false;
      this.#net = {
        online: () => {
          this.#offline = false;
          if (this.state === "connecting" && !this.#ws) {
            this.#attempt = 0;
            this.#connectNow();
          }
        },
        offline: () => {
          this.#offline = true;
          if (this.#ws) this.#lost(1006, "offline");
        },
      };
      g.addEventListener("online", this.#net.online);
      g.addEventListener("offline", this.#net.offline);
    } else if (!on && this.#net) {
      g.removeEventListener("online", this.#net.online);
      g.removeEventListener("offline", this.#net.offline);
      this.#net = null;
    }
  }

  async #connectNow() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (this.#offline) return; // the `online` event brings us back
    const gen = ++this.#gen;
    if (this.#o.getToken && (this.#needToken || this.#expiresWithin(this.#o.refreshBeforeMs / 2))) {
      try {
        const token = await this.#o.getToken();
        if (gen !== this.#gen) return;
        if (!token) return this.#stop({ code: 4500, reason: "unauthorized", reconnect: false });
        this.#setToken(token);
      } catch (err) {
        if (gen !== this.#gen) return;
        this.#emit("error", asChorusError(err, "getToken failed"));
        if (["unauthorized", "forbidden", "revoked"].includes(err?.code)) {
          return this.#stop({ code: 4500, reason: "unauthorized", reconnect: false });
        }
        return this.#retryLater();
      }
    }
    let ws;
    try {
      ws = new this.#WebSocket(this.#o.url);
    } catch (err) {
      this.#emit("error", asChorusError(err, "cannot open a WebSocket"));
      return this.#stop({ code: 1006, reason: "bad url", reconnect: false });
    }
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      // The token goes in the first frame, not the URL (URLs end up in logs). Without one,
      // a ping makes `/v1/ws` welcome the guest at once instead of after its first-frame wait.
      if (this.#token) this.#sendRaw({ op: "auth", token: this.#token });
      else this.#sendRaw({ op: "ping", id: "hello" });
    };
    ws.onmessage = (e) => this.#onFrame(e.data);
    ws.onclose = (e) => this.#lost(e.code, e.reason);
    ws.onerror = () => {}; // a close event follows with the code
    this.#connectTimer = setTimeout(() => this.#lost(1006, "no welcome in time"), this.#o.connectTimeoutMs);
  }

  /** The socket is gone (closed by the bridge, the network, or a local deadline). */
  #lost(code, reason) {
    if (!this.#ws) return;
    this.#dropSocket(1000, reason);
    const info = closeInfo(code);
    reason = reason || info.reason;
    // A refused token: one fresh one from getToken, and one more try at once.
    const retryToken = code === 4500 && Boolean(this.#o.getToken) && !this.#authRetried;
    if (retryToken) {
      this.#authRetried = true;
      this.#needToken = true;
    }
    const reconnect = info.reconnect || retryToken;
    this.#failInFlight(reason);
    if (!reconnect) return this.#stop({ code, reason, reconnect });
    this.#emit("close", { code, reason, reconnect });
    this.#setState("connecting");
    this.#retryLater(retryToken ? 0 : undefined);
  }

  /** Stops for good: fails what waits, tells ready() waiters why (the close's reason as code). */
  #stop(close) {
    this.#gen++;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#listenToNetwork(false);
    this.#failInFlight(close.reason);
    for (const item of this.#buffer.splice(0)) {
      clearTimeout(item.timer);
      item.reject(new ChorusError("unavailable", `not connected (${close.reason})`, { local: true }));
    }
    const waiters = this.#readyWaiters.splice(0);
    this.#emit("close", close);
    this.#setState("disconnected");
    const code = (close.code !== 1000 && closeInfo(close.code).reason) || "unavailable";
    const err = new ChorusError(code, `connection closed: ${close.reason}`, { local: true });
    for (const w of waiters) w.reject(err);
  }

  /** The next attempt, after `delay` or the backoff of the attempts so far. */
  #retryLater(delay = backoff(this.#attempt, this.#o.minBackoffMs, this.#o.maxBackoffMs)) {
    this.#attempt++;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connectNow(), delay);
  }

  /** Detaches and closes the current socket, and stops its timers. */
  #dropSocket(code, reason) {
    const ws = this.#ws;
    this.#ws = null;
    for (const t of [this.#connectTimer, this.#refreshTimer, this.#pongTimer]) clearTimeout(t);
    clearInterval(this.#pingTimer);
    this.#pongTimer = null;
    this.#dupes.clear();
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // already closing, or a code the implementation refuses: it goes either way
    }
  }

  /** Requests and acked pubs in flight fail `unavailable`; they are never resent. */
  #failInFlight(reason) {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject?.(new ChorusError("unavailable", `connection lost (${reason})`, { local: true }));
    }
  }

  // ── frames in ───────────────────────────────────────────────────────────────────────

  #onFrame(raw) {
    let f;
    try {
      f = JSON.parse(typeof raw === "string" ? raw : new TextDecoder().decode(raw));
    } catch {
      return; // not JSON: nothing the contract sends
    }
    if (typeof f !== "object" || f === null) return;
    this.#lastSeen = Date.now();
    clearTimeout(this.#pongTimer);
    this.#pongTimer = null;
    switch (f.op) {
      case "welcome":
        return this.#onWelcome(f);
      case "msg":
        return this.#deliver(f, raw);
      case "ok":
      case "reply":
      case "err": {
        const p = f.id !== undefined && this.#pending.get(f.id);
        if (p) {
          this.#pending.delete(f.id);
          clearTimeout(p.timer);
          if (f.op === "err") p.reject?.(new ChorusError(f.code, f.message, { subject: f.subject }));
          else p.resolve?.(f.data);
        } else if (f.op === "err") {
          this.#onStrayErr(f);
        }
        return;
      }
      default:
        return; // pong, a TCP close line, ops of a later version
    }
  }

  #onWelcome(f) {
    clearTimeout(this.#connectTimer);
    this.conn = f.conn;
    this.user = f.user;
    this.limits = f.limits ?? null;
    this.#attempt = 0;
    this.#authRetried = false;
    this.#lastSeen = Date.now();
    for (const s of this.#subs.values()) this.#sendSub(s);
    for (const item of this.#buffer.splice(0)) item.send();
    this.#scheduleRefresh();
    if (this.#o.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#keepalive(), this.#o.pingIntervalMs);
    }
    this.#setState("connected");
    this.#emit("welcome", { conn: f.conn, user: f.user, limits: this.limits });
    for (const w of this.#readyWaiters.splice(0)) w.resolve();
  }

  /** An `err` no call waits for: a revoked subscription, or an answer to an id-less frame. */
  #onStrayErr(f) {
    const err = new ChorusError(f.code, f.message, { subject: f.subject });
    if (f.code === "revoked" && f.subject) {
      for (const s of [...this.#subs.values()]) {
        if (s.subject === f.subject) this.#endSub(s, err);
      }
      return;
    }
    this.#emit("error", err);
  }

  #deliver(f, raw) {
    const matching = [];
    for (const s of this.#subs.values()) {
      if (s.subject && subjectMatches(s.subject, f.subject)) matching.push(s);
    }
    const copies = new Set(matching.map((s) => s.subject)).size;
    if (copies > 1) {
      // The bridge sends one copy per matching subscription: deliver the first, skip the rest.
      const skip = this.#dupes.get(raw) ?? 0;
      if (skip > 0) {
        if (skip === 1) this.#dupes.delete(raw);
        else this.#dupes.set(raw, skip - 1);
        return;
      }
      if (this.#dupes.size > 1000) this.#dupes.clear(); // copies that never came (an unsub between)
      this.#dupes.set(raw, copies - 1);
    }
    const msg = { subject: f.subject, from: f.from ?? null };
    for (const s of matching) {
      for (const entry of [...s.entries]) safely(entry.handler, f.data ?? null, msg);
    }
  }

  /** Pings a quiet link; no answer (no frame at all) within pongTimeoutMs: it is dead. */
  #keepalive() {
    if (this.#pongTimer || Date.now() - this.#lastSeen < this.#o.pingIntervalMs / 2) return;
    this.#sendRaw({ op: "ping", id: "keepalive" });
    this.#pongTimer = setTimeout(() => this.#lost(4001, "no_pong"), this.#o.pongTimeoutMs);
  }

  // ── frames out ──────────────────────────────────────────────────────────────────────

  #sendRaw(frame) {
    if (this.#ws?.readyState !== OPEN) return;
    this.#ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  #id() {
    return String(this.#nextId++);
  }

  /** The frame as text, refused locally when the bridge would close for it (`too_large`). */
  #encode(frame) {
    const text = JSON.stringify(frame);
    const max = this.limits?.max_frame_bytes;
    if (max && text.length * 3 > max && new TextEncoder().encode(text).length > max) {
      throw new ChorusError("too_large", `frame over ${max} bytes`, { local: true });
    }
    return text;
  }

  /**
   * Sends now when connected, else queues (bounded) until the next welcome.
   * `send` writes it; `reject` fails it.
   */
  #enqueue(item) {
    if (this.state === "connected") return item.send();
    if (this.state === "disconnected") {
      throw new ChorusError("unavailable", "not connected: call open()", { local: true });
    }
    if (this.#buffer.length >= this.#o.sendBufferLimit) {
      throw new ChorusError("rate_limited", `send buffer full (${this.#o.sendBufferLimit} frames) while reconnecting`, {
        local: true,
      });
    }
    this.#buffer.push(item);
  }

  /**
   * Publishes `data` on `subject`. Without `ack`, fire and forget: it throws a ChorusError
   * (`rate_limited` when the send buffer is full, `unavailable` after close(), `too_large`)
   * and returns nothing. With `{ack: true}` it returns a Promise that the bridge's `ok`
   * resolves and its `err` rejects.
   * @param {string} subject
   * @param {unknown} [data]
   * @param {{ack?: boolean, timeout?: number}} [opts]
   */
  pub(subject, data, opts = {}) {
    if (!opts.ack) {
      const frame = { op: "pub", subject };
      if (data !== undefined) frame.data = data;
      const text = this.#encode(frame);
      this.#enqueue({ send: () => this.#sendRaw(text), reject: () => {} });
      return;
    }
    return this.#call({ op: "pub", subject, data }, opts.timeout);
  }

  /**
   * Asks a worker and waits for its reply's `data`. Rejects with a ChorusError: the wire
   * code (`forbidden`, `unavailable`, `timeout`, a worker's `conflict`…), or a local one
   * (`timeout`, `unavailable` when the connection drops, `rate_limited` when the send
   * buffer is full). A request is sent at most once.
   * @param {string} subject
   * @param {unknown} [data]
   * @param {{timeout?: number}} [opts]
   */
  request(subject, data, opts = {}) {
    return this.#call({ op: "req", subject, data }, opts.timeout);
  }

  /** A frame answered by id (req, or pub with ack), with a deadline set now. */
  #call(frame, timeout = this.#o.requestTimeoutMs) {
    return new Promise((resolve, reject) => {
      if (frame.data === undefined) delete frame.data;
      const deadline = Date.now() + timeout;
      const item = {
        reject,
        timer: setTimeout(() => {
          const at = this.#buffer.indexOf(item);
          if (at >= 0) this.#buffer.splice(at, 1);
          reject(new ChorusError("timeout", `not sent within ${timeout} ms`, { local: true }));
        }, timeout),
        send: () => {
          clearTimeout(item.timer);
          const id = this.#id();
          const remaining = Math.max(1, deadline - Date.now());
          const out = { ...frame, id };
          if (frame.op === "req") out.timeout_ms = remaining;
          let text;
          try {
            text = this.#encode(out);
          } catch (err) {
            return reject(err);
          }
          const timer = setTimeout(() => {
            this.#pending.delete(id);
            reject(new ChorusError("timeout", `no answer within ${timeout} ms`, { local: true }));
          }, remaining + this.#o.replyGraceMs);
          this.#pending.set(id, { resolve, reject, timer });
          this.#sendRaw(text);
        },
      };
      try {
        this.#enqueue(item);
      } catch (err) {
        clearTimeout(item.timer);
        reject(err);
      }
    });
  }

  // ── subscriptions ───────────────────────────────────────────────────────────────────

  /**
   * Subscribes `handler(data, {subject, from})` to a subject or pattern (`*`, `>`);
   * `{self}` in it stands for the welcomed user's id (a guest's changes per connection).
   * The subscription lives until the returned function is called: after a reconnect it is
   * made again, and `opts.restored()` says so (messages in between may be lost: refetch
   * what matters). `opts.error(err)` says the bridge refused or revoked it (it is over).
   * The returned function's `ready` promise settles on the bridge's first answer.
   * @param {string} subject
   * @param {(data: any, msg: {subject: string, from: {id: string, name: string} | null}) => void} handler
   * @param {{restored?: () => void, error?: (err: ChorusError) => void}} [opts]
   */
  sub(subject, handler, opts = {}) {
    let s = this.#subs.get(subject);
    const grantUntil = opts.grantWaitMs > 0 ? Date.now() + opts.grantWaitMs : 0;
    if (!s) {
      s = { pattern: subject, subject: null, entries: new Set(), grantUntil, grantRetryMs: 0 };
      this.#subs.set(subject, s);
      if (this.state === "connected") this.#sendSub(s);
    } else {
      s.grantUntil = Math.max(s.grantUntil, grantUntil);
    }
    let settle;
    const ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => {}); // awaiting it is optional
    const entry = { handler, opts, live: false, settle };
    s.entries.add(entry);
    if (s.live) this.#entryLive(entry);
    const unsubscribe = () => {
      if (!s.entries.delete(entry) || s.entries.size > 0 || this.#subs.get(subject) !== s) return;
      this.#subs.delete(subject);
      const shared = [...this.#subs.values()].some((o) => o.subject === s.subject);
      if (s.subject && this.state === "connected" && !shared) {
        const id = this.#id();
        this.#pending.set(id, {}); // the answer (ok, or not_found after a revoke) is not news
        this.#sendRaw({ op: "unsub", id, subject: s.subject });
      }
    };
    unsubscribe.ready = ready;
    return unsubscribe;
  }

  /** Sends the `sub` frame for this connection; its `ok` makes every entry live. */
  #sendSub(s) {
    s.live = false;
    s.subject = this.user ? s.pattern.replaceAll("{self}", this.user.id) : s.pattern;
    const id = this.#id();
    this.#pending.set(id, {
      resolve: () => {
        if (this.#subs.get(s.pattern) !== s) return;
        s.live = true;
        for (const entry of [...s.entries]) this.#entryLive(entry);
      },
      reject: (err) => {
        if (err.code === "forbidden" && Date.now() < s.grantUntil) return this.#awaitGrant(s);
        if (err.code !== "unavailable" || !err.local) this.#endSub(s, err); // a lost link retries
      },
    });
    this.#sendRaw({ op: "sub", id, subject: s.subject });
  }

  /**
   * A subject that comes by a grant, refused because the grant has not reached the bridge
   * yet (it travels apart from the call that gave it): asked again, backing off (50 ms
   * doubling to 1 s), until the wait its subscriber allowed (`grantWaitMs`) is over.
   */
  #awaitGrant(s) {
    s.grantRetryMs = Math.min(Math.max(s.grantRetryMs * 2, 50), 1000);
    setTimeout(() => {
      if (this.#subs.get(s.pattern) === s && !s.live && this.state === "connected") this.#sendSub(s);
    }, s.grantRetryMs);
  }

  #entryLive(entry) {
    if (entry.live) {
      if (entry.opts.restored) safely(entry.opts.restored);
      return;
    }
    entry.live = true;
    entry.settle.resolve();
  }

  /** The bridge refused or revoked it: forget it and tell its handlers. */
  #endSub(s, err) {
    if (this.#subs.get(s.pattern) === s) this.#subs.delete(s.pattern);
    const e = new ChorusError(err.code, err.message, { subject: s.pattern });
    for (const entry of s.entries) {
      entry.settle.reject(e);
      if (entry.opts.error) safely(entry.opts.error, e);
      else if (entry.live) this.#emit("error", e);
    }
  }

  // ── tokens ──────────────────────────────────────────────────────────────────────────

  #setToken(token) {
    this.#token = token;
    this.#tokenExp = tokenExpiry(token);
    this.#needToken = false;
  }

  #expiresWithin(ms) {
    return this.#tokenExp !== null && this.#tokenExp - Date.now() < ms;
  }

  /** Before the token expires, a fresh one from getToken goes in an `auth` frame. */
  #scheduleRefresh() {
    clearTimeout(this.#refreshTimer);
    if (!this.#o.getToken || this.#tokenExp === null) return;
    const left = this.#tokenExp - Date.now();
    const delay = Math.max(left / 2, left - this.#o.refreshBeforeMs, 0);
    this.#refreshTimer = setTimeout(() => this.#refresh(), delay);
  }

  async #refresh() {
    const gen = this.#gen;
    let token;
    try {
      token = await this.#o.getToken();
      if (!token) throw new ChorusError("unauthorized", "getToken gave no token", { local: true });
    } catch (err) {
      if (gen !== this.#gen) return;
      this.#emit("error", asChorusError(err, "token refresh failed"));
      if (!this.#expiresWithin(1000)) this.#refreshTimer = setTimeout(() => this.#refresh(), 1000);
      return;
    }
    if (gen !== this.#gen || this.state !== "connected") return this.#setToken(token);
    const id = this.#id();
    this.#pending.set(id, {
      resolve: () => {
        this.#setToken(token);
        this.#scheduleRefresh();
      },
      // Refused: the bridge closes `unauthorized` at expiry, and we come back with a new one.
      reject: (err) => {
        if (!err.local) this.#emit("error", err);
      },
    });
    this.#sendRaw({ op: "auth", id, token });
  }
}

function asChorusError(err, context) {
  if (err instanceof ChorusError) return err;
  return new ChorusError(err?.code ?? "internal", `${context}: ${err?.message ?? err}`, { local: true });
}

/**
 * The helpers for the platform's services: `svc.{worker}.{method}` requests and the
 * subjects their events arrive on. Each is a one-liner over request() and sub().
 * @param {Chorus} c
 */
function services(c) {
  const req = (subject) => (data, opts) => c.request(subject, data, opts);
  const place = (where) => (typeof where === "string" ? { channel: where } : where);
  return {
    accounts: {
      signup: (name, password) => c.request("svc.accounts.signup", { name, password }),
      login: (name, password) => c.request("svc.accounts.login", { name, password }),
      refresh: (refresh_token) => c.request("svc.accounts.refresh", { refresh_token }),
      logout: (refresh_token) => c.request("svc.accounts.logout", { refresh_token }),
      me: req("svc.accounts.me"),
      lookup: (name) => c.request("svc.accounts.lookup", { name }),
      password: (old_password, new_password) => c.request("svc.accounts.password", { old_password, new_password }),
    },
    friends: {
      request: (to) => c.request("svc.friends.request", { to }),
      accept: (from) => c.request("svc.friends.accept", { from }),
      decline: (from) => c.request("svc.friends.decline", { from }),
      remove: (user) => c.request("svc.friends.remove", { user }),
      block: (user) => c.request("svc.friends.block", { user }),
      unblock: (user) => c.request("svc.friends.unblock", { user }),
      list: req("svc.friends.list"),
      onEvent: (handler, opts) => c.sub("user.{self}.friends", handler, opts),
    },
    chat: {
      send: (channel, text) => c.request("svc.chat.send", { channel, text }),
      dm: (to, text) => c.request("svc.chat.dm", { to, text }),
      history: (where, opts = {}) => c.request("svc.chat.history", { ...place(where), ...opts }),
      edit: (where, id, text) => c.request("svc.chat.edit", { ...place(where), id, text }),
      retract: (where, id) => c.request("svc.chat.retract", { ...place(where), id }),
      join: (channel) => c.request("svc.chat.join", { channel }),
      leave: (channel) => c.request("svc.chat.leave", { channel }),
      mute: (channel, user, secs) => c.request("svc.chat.mute", { channel, user, secs }),
      unmute: (channel, user) => c.request("svc.chat.unmute", { channel, user }),
      on: (channel, handler, opts) => c.sub(`chat.${channel}`, handler, opts),
      onDm: (handler, opts) => c.sub("user.{self}.dm", handler, opts),
    },
    presence: {
      friends: req("svc.presence.friends"),
      onChange: (handler, opts) => c.sub("user.{self}.presence", handler, opts),
    },
    mm: {
      join: (game) => c.request("svc.mm.join", { game }),
      leave: req("svc.mm.leave"),
      onMatch: (handler, opts) => c.sub("user.{self}.match", handler, opts),
    },
    rooms: {
      input: (room, input) => c.request("svc.rooms.input", { room, input }),
      send: (room, input) => c.pub(`room.${room}.input`, input),
      state: (room) => c.request("svc.rooms.state", { room }),
      leave: (room) => c.request("svc.rooms.leave", { room }),
      replay: (room) => c.request("svc.rooms.replay", { room }),
      onState: (room, handler, opts) => c.sub(`room.${room}.state`, handler, opts),
      pad: (room) => c.request("svc.rooms.pad", { room }),
      claim: (code) => c.request("svc.rooms.claim", typeof code === "string" ? { code } : code),
      onPad: (handler, opts) => c.sub("user.{self}.pad", handler, opts),
    },
    store: {
      catalog: req("svc.store.catalog"),
      wallet: req("svc.store.wallet"),
      inventory: req("svc.store.inventory"),
      buy: (good, idempotency_key = randomKey()) => c.request("svc.store.buy", { good, idempotency_key }),
      onWallet: (handler, opts) => c.sub("user.{self}.wallet", handler, opts),
    },
    rating: {
      top: (game, limit) => c.request("svc.rating.top", { game, limit }),
      me: (game) => c.request("svc.rating.me", { game }),
    },
  };
}
