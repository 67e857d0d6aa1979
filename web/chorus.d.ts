// Types for chorus.js, the Chorus client. The wire contract is protocol/PROTOCOL.md.

export { CLOSE_CODES, closeInfo, CloseCode } from "./close-codes.js";

/** The wire error codes, and the ones chorus.js produces locally (same names). */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_large"
  | "rate_limited"
  | "timeout"
  | "unavailable"
  | "slow_consumer"
  | "revoked"
  | "internal";

/**
 * An error with its wire code. `local` is true when chorus.js decided it: a request's local
 * `timeout`, `unavailable` when the connection dropped or the client is closed,
 * `rate_limited` when the send buffer is full, `too_large` for a frame over the bridge's limit.
 */
export class ChorusError extends Error {
  constructor(code: ErrorCode | string, message: string, extra?: { local?: boolean; subject?: string });
  readonly name: "ChorusError";
  readonly code: ErrorCode | string;
  readonly local: boolean;
  /** The subject concerned (a refused or revoked subscription). */
  readonly subject?: string;
}

/** Every event a Chorus client dispatches; the payload is `detail`. */
export class ChorusEvent<T = unknown> extends Event {
  constructor(type: string, detail: T);
  readonly detail: T;
}

export type State = "disconnected" | "connecting" | "connected";

export interface User {
  id: string;
  name: string;
  ns: "private" | "guest";
}

export interface Limits {
  max_frame_bytes: number;
  max_subs: number;
  rate_per_sec: number;
  rate_burst: number;
  max_req_timeout_ms: number;
  [key: string]: unknown;
}

export interface EventMap {
  /** Every transition. */
  state: { state: State; previous: State };
  /** A connection was welcomed (after every reconnect too). */
  welcome: { conn: string; user: User; limits: Limits | null };
  /** The socket closed; `reconnect` says whether chorus.js will connect again by itself. */
  close: { code: number; reason: string; reconnect: boolean };
  /** An error nobody else was waiting for (an `err` to a fire-and-forget pub, a refused token refresh…). */
  error: ChorusError;
}

/** A WebSocket constructor: the browser's, or `ws`'s in Node. */
export type WebSocketLike = new (url: string) => {
  readyState: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
};

export interface ConnectOptions {
  /**
   * The endpoint, e.g. `ws://127.0.0.1:8080/core/game/v1/real-time/private`. In a page served
   * by the bridge it defaults to that host's `private` endpoint when a token is given, else
   * `public` (a guest). Required elsewhere.
   */
  url?: string;
  /** A fixed access token (never refreshed). */
  token?: string;
  /**
   * Gives a fresh access token: called before connecting, before the token expires (the
   * token then goes in an `auth` frame, no reconnect) and once after an `unauthorized`
   * close. Returning nothing, or throwing a ChorusError `unauthorized`/`forbidden`/`revoked`,
   * ends the session (state `disconnected`); other throws are retried with backoff.
   */
  getToken?: () => Promise<string | null | undefined> | string | null | undefined;
  /** The WebSocket implementation (default: the global one; Node 20 needs `ws`). */
  WebSocket?: WebSocketLike;
  /** Least delay before a reconnect (ms, default 500). */
  minBackoffMs?: number;
  /** Most delay before a reconnect (ms, default 20000). */
  maxBackoffMs?: number;
  /** Most pubs and requests held while reconnecting (default 64); past it they fail `rate_limited`. */
  sendBufferLimit?: number;
  /** A request's default timeout (ms, default 5000). */
  requestTimeoutMs?: number;
  /** How long past a request's timeout to wait for the bridge's own `timeout` (ms, default 2000). */
  replyGraceMs?: number;
  /** How long a connection may take to be welcomed (ms, default 10000). */
  connectTimeoutMs?: number;
  /** Refresh the token this long before it expires (ms, default 30000; at half-life if shorter). */
  refreshBeforeMs?: number;
  /** Ping when nothing arrived for this long (ms, default 25000; 0: never). */
  pingIntervalMs?: number;
  /** Reconnect when a ping is not answered within this (ms, default 10000). */
  pongTimeoutMs?: number;
}

/** Where a message came from: the subject it was published on, its sender when a client sent it. */
export interface Message {
  subject: string;
  from: { id: string; name: string } | null;
}

export type Handler<T = any> = (data: T, msg: Message) => void;

export interface SubOptions {
  /** The subscription was made again after a reconnect: messages in between may be lost. */
  restored?: () => void;
  /** The bridge refused or revoked the subscription; it is over. */
  error?: (err: ChorusError) => void;
  /**
   * The subject comes by a grant that may reach the bridge a little after the call that gave
   * it (a chat channel's join, a voice channel's): a `forbidden` answer is asked again, with
   * backoff, for up to this many ms before it counts.
   */
  grantWaitMs?: number;
}

/** Ends a subscription. `ready` settles on the bridge's first answer to it. */
export interface Unsubscribe {
  (): void;
  readonly ready: Promise<void>;
}

export interface RequestOptions {
  /** ms; default `requestTimeoutMs`. */
  timeout?: number;
}

export declare function connect(options?: ConnectOptions): Chorus;

export declare class Chorus extends EventTarget {
  constructor(options: ConnectOptions);
  readonly state: State;
  /** The welcomed user; a guest's id changes with each connection. */
  readonly user: User | null;
  /** This connection's id on its bridge. */
  readonly conn: string | null;
  readonly limits: Limits | null;

  /** Listens to an event with its detail; returns a function that stops listening. */
  on<K extends keyof EventMap>(type: K, fn: (detail: EventMap[K]) => void): () => void;
  /** Resolves on the next welcome (at once when connected); rejects when the client stops first. */
  ready(): Promise<void>;
  /** Starts connecting again after close() or a close that does not reconnect. */
  open(): void;
  /** Closes for good (until open()): calls in flight and buffered fail `unavailable`. */
  close(): void;

  /**
   * Subscribes to a subject or pattern (`*`, `>`); `{self}` stands for the welcomed user's id.
   * Kept across reconnects until the returned function is called.
   */
  sub<T = any>(subject: string, handler: Handler<T>, opts?: SubOptions): Unsubscribe;
  /** Fire and forget; throws a ChorusError when it cannot even be queued. */
  pub(subject: string, data?: unknown): void;
  /** Acknowledged by the bridge. */
  pub(subject: string, data: unknown, opts: { ack: true; timeout?: number }): Promise<void>;
  /** A worker's reply data; rejects with a ChorusError. Sent at most once. */
  request<T = any>(subject: string, data?: unknown, opts?: RequestOptions): Promise<T>;

  readonly accounts: Accounts;
  readonly friends: Friends;
  readonly chat: Chat;
  readonly presence: Presence;
  readonly mm: Matchmaking;
  readonly rooms: Rooms;
  readonly store: Store;
  readonly rating: Rating;
}

/** Exponential backoff with full jitter: a delay in [min, min + min·2^attempt], at most max. */
export declare function backoff(attempt: number, minMs: number, maxMs: number): number;
/** When a JWT expires in this machine's clock (ms), or null. */
export declare function tokenExpiry(token: string): number | null;
/** Whether a literal subject matches a pattern. */
export declare function subjectMatches(pattern: string, subject: string): boolean;
/** A random 32-hex-digit key (purchases' idempotency keys). */
export declare function randomKey(): string;

// ── the services' helpers ─────────────────────────────────────────────────────────────

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: User;
}

export interface Accounts {
  signup(name: string, password: string): Promise<{ user: User }>;
  login(name: string, password: string): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
  logout(refreshToken: string): Promise<{ ok: true }>;
  me(): Promise<{ user: User; created_at: string }>;
  /** The account of a name (any case), e.g. to ask them as a friend; `not_found` if none. Users only. */
  lookup(name: string): Promise<{ user: { id: string; name: string } }>;
  password(oldPassword: string, newPassword: string): Promise<TokenPair>;
}

export interface Person {
  id: string;
  name: string;
  online: boolean;
}

export interface Friends {
  request(to: string): Promise<{ status: "requested" | "friends" }>;
  accept(from: string): Promise<{ status: "friends" }>;
  decline(from: string): Promise<{ ok: true }>;
  remove(user: string): Promise<{ ok: true }>;
  block(user: string): Promise<{ ok: true }>;
  unblock(user: string): Promise<{ ok: true }>;
  list(): Promise<{ friends: Person[]; incoming: Person[]; outgoing: Person[]; blocked: Person[] }>;
  /** `user.{self}.friends`: requests and acceptances. */
  onEvent(handler: Handler<{ event: "request" | "accepted"; user: { id: string; name: string } }>, opts?: SubOptions): Unsubscribe;
}

export interface ChatMessage {
  id: string;
  channel?: string;
  to?: string;
  author: { id: string; name: string };
  text?: string;
  ts: number;
  edited_ts?: number;
}

export interface ChatEvent {
  event: "send" | "edit" | "retract";
  message: ChatMessage;
}

/** A channel by name, or `{channel}`, or a direct conversation `{dm: peerId}`. */
export type ChatPlace = string | { channel: string } | { dm: string };

export interface Chat {
  send(channel: string, text: string): Promise<ChatMessage>;
  dm(to: string, text: string): Promise<ChatMessage>;
  history(where: ChatPlace, opts?: { before?: string; limit?: number }): Promise<{ messages: ChatMessage[] }>;
  edit(where: ChatPlace, id: string, text: string): Promise<ChatMessage>;
  retract(where: ChatPlace, id: string): Promise<ChatMessage>;
  join(channel: string): Promise<{ channel: string; owner: string; members: string[]; expires_at: number }>;
  leave(channel: string): Promise<{ ok: true }>;
  mute(channel: string, user: string, secs?: number): Promise<{ channel: string; user: string; until: number }>;
  unmute(channel: string, user: string): Promise<{ ok: true }>;
  /** `chat.{channel}`. */
  on(channel: string, handler: Handler<ChatEvent>, opts?: SubOptions): Unsubscribe;
  /** `user.{self}.dm`: direct messages to and from this user. */
  onDm(handler: Handler<ChatEvent>, opts?: SubOptions): Unsubscribe;
}

export interface Presence {
  friends(): Promise<{ online: { id: string; name: string }[] }>;
  /** `user.{self}.presence`: a friend came or went. */
  onChange(handler: Handler<{ user: string; name: string; online: boolean }>, opts?: SubOptions): Unsubscribe;
}

export interface Match {
  room: string;
  game: string;
  players: unknown[];
  seat: unknown;
}

export interface Matchmaking {
  join(game: string): Promise<{ ticket: string; game: string; queued_at: number }>;
  leave(): Promise<{ left: boolean }>;
  /** `user.{self}.match`: a room was found. */
  onMatch(handler: Handler<Match>, opts?: SubOptions): Unsubscribe;
}

export interface Rooms {
  /** A turn-based input: answered with the new sequence, or an error. */
  input(room: string, input: unknown): Promise<{ seq: number }>;
  /** A realtime input, published on `room.{room}.input` (applied at the next tick). */
  send(room: string, input: unknown): void;
  state<S = any>(room: string): Promise<S>;
  leave(room: string): Promise<unknown>;
  replay<R = any>(room: string): Promise<R>;
  /** `room.{room}.state`: the room's broadcasts. */
  onState<S = any>(room: string, handler: Handler<S>, opts?: SubOptions): Unsubscribe;
  /**
   * A fresh join code for the caller's seat (members only), to show on a big screen: a phone
   * that claims it steers that seat. Single use, valid `expires_in_ms`.
   */
  pad(room: string): Promise<PadCode>;
  /**
   * A phone takes a seat: with the code (`not_found` when wrong, used or expired;
   * `rate_limited` past the guessing limits), or with `{room, resume}` from an earlier claim
   * (a new connection takes the seat back). Guests may call it.
   */
  claim(code: string | { room: string; resume: string }): Promise<PadClaim>;
  /** `user.{self}.pad`: a phone took one of this user's seats. */
  onPad(handler: Handler<PadEvent>, opts?: SubOptions): Unsubscribe;
}

export interface PadCode {
  room: string;
  /** The seat the code is for, named by its player's id (the caller's). */
  seat: string;
  /** 6 characters of `23456789ABCDEFGHJKMNPQRSTUVWXYZ`. */
  code: string;
  expires_in_ms: number;
}

export interface PadClaim {
  room: string;
  game: string;
  /** The seat the phone steers: its player's id and name, and the seat number. */
  seat: { id: string; name: string; seat: number };
  /** Keep it: `claim({room, resume})` takes the seat back from a new connection. */
  resume: string;
}

export interface PadEvent {
  event: "paired";
  /** The phone's user id (a guest's). */
  pad: string;
  name: string;
}

export interface Good {
  id: string;
  name: string;
  price: number;
  kind: string;
  limit?: number;
}

export interface Store {
  catalog(): Promise<{ goods: Good[] }>;
  wallet(): Promise<{ balance: number; entries: { id: number; amount: number; reason: string; ref: string; balance: number; ts: number }[] }>;
  inventory(): Promise<{ items: { purchase: number; good: string; kind: string; name?: string; ts: number }[] }>;
  /** Pass the same key when retrying a purchase; without one, each call is a new purchase. */
  buy(good: string, idempotencyKey?: string): Promise<{ purchase: number; good: string; price: number; balance: number }>;
  /** `user.{self}.wallet`: the balance changed. */
  onWallet(handler: Handler<{ balance: number; reason: string }>, opts?: SubOptions): Unsubscribe;
}

export interface Rating {
  top<E = unknown>(game: string, limit?: number): Promise<E>;
  me<R = unknown>(game: string): Promise<R>;
}
