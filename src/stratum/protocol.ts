/**
 * Stratum V1: the line-delimited JSON-RPC that miners and pools speak.
 *
 * Byte order in Stratum messages (the usual rules, see docs/protocol.md):
 *  - `version`, `nbits`, `ntime`, and a submitted `nonce` are hex of the
 *    32-bit value, big-endian; the header stores them little-endian.
 *  - `prevhash` is the previous block hash in internal byte order with each
 *    4-byte word byte-swapped.
 *  - `coinb1`, `coinb2`, extranonces and `merkle_branch` entries are raw
 *    bytes in serialization order.
 */
import { ErrorCode, HashgridError } from '../core/errors.js';

/** Standard Stratum error codes (as pools answer mining.submit and mining.authorize). */
export const StratumCode = {
  OTHER: 20,
  JOB_NOT_FOUND: 21,
  DUPLICATE: 22,
  LOW_DIFFICULTY: 23,
  UNAUTHORIZED: 24,
  NOT_SUBSCRIBED: 25,
} as const;
export type StratumCode = (typeof StratumCode)[keyof typeof StratumCode];

/** An error a Stratum peer sees: `[code, message, null]`. */
export class StratumError extends HashgridError {
  constructor(
    readonly stratumCode: StratumCode,
    message: string,
  ) {
    super(ErrorCode.STRATUM, message, { stratumCode });
  }
  toWire(): [number, string, null] {
    return [this.stratumCode, this.message, null];
  }
}

export type JsonRpcId = number | string | null;

export interface StratumRequest {
  id: JsonRpcId;
  method: string;
  params: unknown[];
}

export interface StratumResponse {
  id: JsonRpcId;
  result: unknown;
  error: [number, string, unknown] | null;
}

/** The longest line either side accepts (a notify with a deep branch is ~2 KB). */
export const MAX_LINE_BYTES = 16 * 1024;

/** Parses one line; throws StratumError(OTHER) on anything that is not a request or response object. */
export function parseLine(line: string): StratumRequest | StratumResponse {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    throw new StratumError(StratumCode.OTHER, 'expected a JSON-RPC object, got a line that is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new StratumError(StratumCode.OTHER, 'expected a JSON-RPC object');
  }
  const m = msg as Record<string, unknown>;
  const id = m.id;
  if (!(id === null || id === undefined || typeof id === 'number' || typeof id === 'string')) {
    throw new StratumError(StratumCode.OTHER, 'id: expected a number, string or null');
  }
  if (typeof m.method === 'string') {
    if (m.params !== undefined && !Array.isArray(m.params)) throw new StratumError(StratumCode.OTHER, 'params: expected an array');
    return { id: (id ?? null) as JsonRpcId, method: m.method, params: (m.params as unknown[]) ?? [] };
  }
  if ('result' in m || 'error' in m) {
    const error = m.error;
    if (error !== null && error !== undefined && !Array.isArray(error)) throw new StratumError(StratumCode.OTHER, 'error: expected [code, message, data] or null');
    return { id: (id ?? null) as JsonRpcId, result: m.result ?? null, error: (error as StratumResponse['error']) ?? null };
  }
  throw new StratumError(StratumCode.OTHER, 'expected "method" (a request) or "result" (a response)');
}

/**
 * Splits a byte stream into lines, refusing any line longer than `maxBytes`
 * (the peer is then closed: a line that long is abuse, not a miner).
 */
export class LineSplitter {
  private buffer = '';
  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  /** Bytes of a line begun but not yet ended by '\n'. */
  get partial(): number {
    return this.buffer.length;
  }

  /** Returns complete lines; throws StratumError when a line grows past the limit. */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop()!;
    if (this.buffer.length > this.maxBytes || lines.some((l) => l.length > this.maxBytes)) {
      throw new StratumError(StratumCode.OTHER, `line longer than ${this.maxBytes} bytes`);
    }
    return lines.map((l) => l.trim()).filter((l) => l.length > 0);
  }
}

const HEX = /^[0-9a-fA-F]*$/;

/** Asserts `value` is a hex string of `bytes` bytes (any length when undefined); returns it lowercased. */
export function ahex(value: unknown, bytes: number | undefined, title: string): string {
  if (typeof value !== 'string' || !HEX.test(value) || value.length % 2 !== 0) {
    throw new StratumError(StratumCode.OTHER, `${title}: expected hex, got ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  if (bytes !== undefined && value.length !== bytes * 2) {
    throw new StratumError(StratumCode.OTHER, `${title}: expected ${bytes * 2} hex characters, got ${value.length}`);
  }
  return value.toLowerCase();
}
