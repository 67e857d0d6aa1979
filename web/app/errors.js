// errors.js — turns a ChorusError into a sentence a player can read. Every screen shows
// failures through describe(), so the wording of each wire code lives in one place.

/** What each wire error code means to a player. */
const TEXT = {
  bad_request: "That was not accepted.",
  unauthorized: "Please sign in again.",
  forbidden: "You are not allowed to do that.",
  not_found: "That does not exist (any more).",
  conflict: "That cannot be done right now.",
  too_large: "That is too long.",
  rate_limited: "Slow down a little: too many requests at once.",
  timeout: "The server took too long to answer. Try again.",
  unavailable: "That service is not available right now. Try again in a moment.",
  slow_consumer: "The connection could not keep up and was reset.",
  revoked: "Your access to that was taken away.",
  internal: "Something went wrong on our side. Try again.",
};

/** Codes whose server message is written for people and worth showing after ours. */
const DETAILED = new Set(["bad_request", "conflict", "forbidden", "not_found", "unauthorized", "too_large"]);

/**
 * A readable sentence for an error (a ChorusError with a wire `code`, or anything else).
 * @param {unknown} err
 */
export function describe(err) {
  const code = err && typeof err === "object" ? err.code : undefined;
  const base = TEXT[code];
  if (!base) return TEXT.internal;
  const detail = !err.local && DETAILED.has(code) && typeof err.message === "string" ? err.message.trim() : "";
  if (!detail || detail === code) return base;
  // The worker's own words, capitalised, after the general sentence.
  return `${base} ${detail.charAt(0).toUpperCase()}${detail.slice(1)}${/[.!?]$/.test(detail) ? "" : "."}`;
}

export { TEXT as ERROR_TEXT };
