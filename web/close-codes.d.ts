// Types for close-codes.js: the bridge's close codes (protocol/src/close.rs).

export interface CloseCode {
  /** The WebSocket close code. */
  readonly code: number;
  /** The close reason the bridge sends ("" for a code outside the table). */
  readonly reason: string;
  /** Whether a client should reconnect by itself. */
  readonly reconnect: boolean;
}

/** Every close code, in the order of close.rs. */
export declare const CLOSE_CODES: readonly CloseCode[];

/** What a received close code means; codes outside the table follow the ranges. */
export declare function closeInfo(code: number): CloseCode;
