// The bridge's close codes, for JavaScript: a copy of the one table in
// protocol/src/close.rs (mirrored in protocol/PROTOCOL.md). test/close-codes.test.js parses
// close.rs and PROTOCOL.md and fails when this copy drifts from either.
//
// 4000–4499: reconnect with backoff. 4500–4999: do not reconnect until something changes
// (a new token, a smaller frame). The two standard codes keep their RFC 6455 meaning.

/**
 * @typedef {object} CloseCode
 * @property {number} code       the WebSocket close code
 * @property {string} reason     the close reason the bridge sends
 * @property {boolean} reconnect whether a client should reconnect by itself
 */

/** @type {readonly CloseCode[]} Every close code, in the order of close.rs. */
export const CLOSE_CODES = Object.freeze([
  { code: 1001, reason: "going_away", reconnect: true },
  { code: 1011, reason: "internal", reconnect: true },
  { code: 4000, reason: "slow_consumer", reconnect: true },
  { code: 4001, reason: "no_pong", reconnect: true },
  { code: 4002, reason: "rate_limited", reconnect: true },
  { code: 4003, reason: "server_full", reconnect: true },
  { code: 4004, reason: "unavailable", reconnect: true },
  { code: 4500, reason: "unauthorized", reconnect: false },
  { code: 4501, reason: "forbidden", reconnect: false },
  { code: 4502, reason: "too_large", reconnect: false },
  { code: 4503, reason: "revoked", reconnect: false },
].map((c) => Object.freeze(c)));

const BY_CODE = new Map(CLOSE_CODES.map((c) => [c.code, c]));

/**
 * What a received close code means. Codes outside the table follow the ranges: 4500–4999
 * do not reconnect; anything else (1006 for a dropped network, a proxy's 1000) does.
 * @param {number} code
 * @returns {CloseCode}
 */
export function closeInfo(code) {
  const known = BY_CODE.get(code);
  if (known) return known;
  return { code, reason: "", reconnect: !(code >= 4500 && code <= 4999) };
}
