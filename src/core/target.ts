/**
 * Targets, compact bits and difficulty. A target is a bigint: the largest
 * hash, read as a 256-bit little-endian number, that satisfies the work.
 * Its display form is 64 hex digits, big-endian (most significant first).
 */
import { ErrorCode, HashgridError } from './errors.js';
import { hexToBytes } from './bytes.js';

export const MAX_TARGET = (1n << 256n) - 1n;

/**
 * Difficulty 1, for network and pool difficulty alike: 0xFFFF·2^208, the
 * target of compact bits 0x1d00ffff (some pools' "pdiff" uses 2^224 − 1;
 * hashgrid does not).
 */
export const DIFF1_TARGET = 0xffffn << 208n;

/** Asserts 0 < target ≤ 2^256 − 1; returns it. */
export function atarget(target: bigint, title = 'target'): bigint {
  // A zero target can only be met by a zero hash; above 2^256 − 1 is not a 256-bit number.
  if (target <= 0n || target > MAX_TARGET) {
    throw new HashgridError(ErrorCode.TARGET_OUT_OF_RANGE, `${title}: expected a target from 1 to 2^256-1, got 0x${target.toString(16)}`, {
      title,
    });
  }
  return target;
}

/**
 * Decodes compact bits (nBits): target = mantissa · 256^(exponent − 3), where
 * the mantissa is the low 23 bits and bit 23 is a sign bit (Bitcoin
 * arith_uint256::SetCompact).
 */
export function bitsToTarget(bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) {
    throw new HashgridError(ErrorCode.INVALID_BITS, `bits: expected a uint32, got ${bits}`, { bits });
  }
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  // SetCompact: a set sign bit with a non-zero mantissa is a negative target.
  if (bits & 0x00800000 && mantissa !== 0n) {
    throw new HashgridError(ErrorCode.INVALID_BITS, `bits 0x${bits.toString(16)}: the sign bit is set (negative target)`, { bits });
  }
  const target = exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
  if (target === 0n) {
    throw new HashgridError(ErrorCode.INVALID_BITS, `bits 0x${bits.toString(16)}: the target is zero`, { bits });
  }
  // SetCompact: overflow when the mantissa does not fit in 256 bits.
  if (target > MAX_TARGET) {
    throw new HashgridError(ErrorCode.TARGET_OUT_OF_RANGE, `bits 0x${bits.toString(16)}: the target overflows 256 bits`, { bits });
  }
  return target;
}

/** Encodes a target as compact bits, rounding down like Bitcoin's GetCompact. */
export function targetToBits(target: bigint): number {
  atarget(target);
  let size = Math.ceil(target.toString(16).length / 2);
  let mantissa = size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  // GetCompact: a mantissa with bit 23 set would read as negative, so shift one byte more.
  if (mantissa & 0x00800000) {
    mantissa >>>= 8;
    size += 1;
  }
  return ((size << 24) | mantissa) >>> 0;
}

/** Difficulty of a target: DIFF1_TARGET / target (a float). */
export function targetToDifficulty(target: bigint): number {
  atarget(target);
  // Scale so the quotient keeps ~53 significant bits before the float conversion.
  const scale = 64n;
  return Number((DIFF1_TARGET << scale) / target) / 2 ** Number(scale);
}

/** The target of a (pool or network) difficulty: ⌊DIFF1_TARGET / difficulty⌋. */
export function difficultyToTarget(difficulty: number): bigint {
  if (typeof difficulty !== 'number' || !Number.isFinite(difficulty) || difficulty <= 0) {
    throw new HashgridError(ErrorCode.INVALID_DIFFICULTY, `difficulty: expected a finite number > 0, got ${difficulty}`, {
      difficulty,
    });
  }
  // difficulty · 2^64 is exact enough as a float and exact as a bigint once rounded.
  const scaled = BigInt(Math.round(difficulty * 2 ** 64));
  if (scaled === 0n) {
    throw new HashgridError(ErrorCode.INVALID_DIFFICULTY, `difficulty ${difficulty} is too small`, { difficulty });
  }
  const target = (DIFF1_TARGET << 64n) / scaled;
  if (target > MAX_TARGET) {
    throw new HashgridError(
      ErrorCode.TARGET_OUT_OF_RANGE,
      `difficulty ${difficulty}: the target is above the maximum 2^256-1 (the smallest difficulty is about ${targetToDifficulty(MAX_TARGET).toExponential(3)})`,
      { difficulty },
    );
  }
  return target;
}

/** Parses a target from 64 hex digits in display (big-endian) form. */
export function parseTargetHex(hex: string, title = 'target'): bigint {
  hexToBytes(hex, 32, title);
  return atarget(BigInt(`0x${hex}`), title);
}

/** A target in display form: 64 hex digits, big-endian. */
export const targetToHex = (target: bigint): string => target.toString(16).padStart(64, '0');
