/**
 * PPoV's typed errors: a HashgridError with one of the PPoV codes of
 * src/core/errors.ts. Rejections of ledger data are also recorded as evidence
 * by the state machine when they prove misbehaviour.
 */
import { ErrorCode, HashgridError } from '../core/errors.js';

export type PpovErrorCode = 'BAD_BLOCK' | 'BAD_VOTE' | 'BAD_TIMEOUT' | 'BAD_HEADER' | 'BAD_SIGNATURE' | 'WRONG_HEIGHT' | 'NOT_A_MEMBER' | 'BAD_GOVERNANCE';

const codes: Record<PpovErrorCode, ErrorCode> = {
  BAD_BLOCK: ErrorCode.PPOV_BAD_BLOCK,
  BAD_VOTE: ErrorCode.PPOV_BAD_VOTE,
  BAD_TIMEOUT: ErrorCode.PPOV_BAD_TIMEOUT,
  BAD_HEADER: ErrorCode.PPOV_BAD_HEADER,
  BAD_SIGNATURE: ErrorCode.PPOV_BAD_SIGNATURE,
  WRONG_HEIGHT: ErrorCode.PPOV_WRONG_HEIGHT,
  NOT_A_MEMBER: ErrorCode.PPOV_NOT_A_MEMBER,
  BAD_GOVERNANCE: ErrorCode.PPOV_BAD_GOVERNANCE,
};

export const ppovError = (code: PpovErrorCode, message: string, data: Record<string, unknown> = {}): HashgridError =>
  new HashgridError(codes[code], message, data);
