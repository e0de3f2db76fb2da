/**
 * Typed errors. Every error hashgrid throws on purpose is a HashgridError with
 * a stable `code` (safe to branch on, shown on the bus and by the CLI) and
 * structured `data` naming what was wrong.
 */

/** Every stable error code, in one place. */
export const ErrorCode = {
  /** A value is not the hex string it should be (odd length, bad character). */
  INVALID_HEX: 'INVALID_HEX',
  /** A byte array or hex string has the wrong length. */
  INVALID_LENGTH: 'INVALID_LENGTH',
  /** A compact-bits value is negative, overflows, or is not a uint32. */
  INVALID_BITS: 'INVALID_BITS',
  /** A target is zero or above the largest 256-bit value. */
  TARGET_OUT_OF_RANGE: 'TARGET_OUT_OF_RANGE',
  /** A difficulty is not a finite number > 0, or gives a target out of range. */
  INVALID_DIFFICULTY: 'INVALID_DIFFICULTY',
  /** A nonce range is empty or goes past 2^32. */
  INVALID_NONCE_RANGE: 'INVALID_NONCE_RANGE',
  /** A backend name is not one hashgrid knows. */
  UNKNOWN_BACKEND: 'UNKNOWN_BACKEND',
  /** A backend cannot run here (no adapter, module not built). */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** No WebGPU adapter (or none matching the selector), or the kernels failed to compile. */
  GPU_UNAVAILABLE: 'GPU_UNAVAILABLE',
  /** The GPU device was lost (driver reset, device destroyed) while hashing. */
  DEVICE_LOST: 'DEVICE_LOST',
  /** A backend reported a hit that the reference hash does not confirm. */
  HIT_VERIFICATION_FAILED: 'HIT_VERIFICATION_FAILED',
  /** Work was replaced by other work, or stopped, before it finished. */
  WORK_CANCELLED: 'WORK_CANCELLED',
  /** The engine was closed. */
  ENGINE_CLOSED: 'ENGINE_CLOSED',
  /** A bus message is not JSON, or not an object. */
  BAD_MESSAGE: 'BAD_MESSAGE',
  /** A bus message is JSON but does not match its schema. */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** A bus message has a schema version this process does not speak. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** A bus message is larger than the limit for its subject. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A bus request got no reply in time. */
  BUS_TIMEOUT: 'BUS_TIMEOUT',
  /** A bus request found nobody listening on its subject. */
  NO_RESPONDERS: 'NO_RESPONDERS',
  /** The embedded nats-server could not be found, started or reached. */
  NATS_SERVER: 'NATS_SERVER',
  /** A share's extranonce2 is not one of those its work assignment reserved. */
  EXTRANONCE2_OUT_OF_RANGE: 'EXTRANONCE2_OUT_OF_RANGE',
  /** A request names something (a node, a job) that does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** A request is valid but not allowed in the current state. */
  INVALID_STATE: 'INVALID_STATE',
  /** A standby instance was asked to act: only the leader (of a plan, of a lease) may. */
  NOT_LEADER: 'NOT_LEADER',
  /** A Stratum peer sent something wrong; data.stratumCode is the wire code (20–25). */
  STRATUM: 'STRATUM',
  /** A sub-account, its credentials or its standard are wrong. */
  SUBACCOUNT: 'SUBACCOUNT',
  /** An operator action came without the operator token, or with a wrong one. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A command-line flag or option value is wrong. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** PPoV: a block is malformed, badly signed, for another height or chain, or its Merkle root is wrong. */
  PPOV_BAD_BLOCK: 'PPOV_BAD_BLOCK',
  /** PPoV: a voting message is malformed, from a non-member, or does not cover every bookkeeper. */
  PPOV_BAD_VOTE: 'PPOV_BAD_VOTE',
  /** PPoV: a timeout message is malformed or not a member's. */
  PPOV_BAD_TIMEOUT: 'PPOV_BAD_TIMEOUT',
  /** PPoV: a block-group header fails a quorum, drawing, result or leader rule. */
  PPOV_BAD_HEADER: 'PPOV_BAD_HEADER',
  /** PPoV: an Ed25519 signature does not verify. */
  PPOV_BAD_SIGNATURE: 'PPOV_BAD_SIGNATURE',
  /** PPoV: a message is for a height this node is not at (stale, or ahead: catch up first). */
  PPOV_WRONG_HEIGHT: 'PPOV_WRONG_HEIGHT',
  /** PPoV: the sender is not a consortium member (or not a bookkeeper of this term). */
  PPOV_NOT_A_MEMBER: 'PPOV_NOT_A_MEMBER',
  /** PPoV: a governance transaction breaks a rule (not a member, blacklisted, wrong deposit, ...). */
  PPOV_BAD_GOVERNANCE: 'PPOV_BAD_GOVERNANCE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class HashgridError<D extends Record<string, unknown> = Record<string, unknown>> extends Error {
  override readonly name = 'HashgridError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data: D = {} as D,
  ) {
    super(message);
  }

  /** The shape sent over the bus and printed by `--json`. */
  toJSON(): { code: ErrorCode; message: string; data: D } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

export const isHashgridError = (e: unknown): e is HashgridError => e instanceof HashgridError;
