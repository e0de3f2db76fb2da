/**
 * Byte and hex helpers that validate and return (the @noble style): each
 * throws a HashgridError naming `title` when its input is wrong.
 */
import { ErrorCode, HashgridError } from './errors.js';

/** Asserts `value` is a Uint8Array, of `length` bytes when given; returns it. */
export function abytes(value: unknown, length?: number, title = 'value'): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new HashgridError(ErrorCode.INVALID_LENGTH, `${title}: expected bytes, got ${typeof value}`, { title });
  }
  if (length !== undefined && value.length !== length) {
    throw new HashgridError(ErrorCode.INVALID_LENGTH, `${title}: expected ${length} bytes, got ${value.length}`, {
      title,
      expected: length,
      actual: value.length,
    });
  }
  return value;
}

/** Asserts `value` is an integer in [0, 2^32); returns it. */
export function auint32(value: unknown, title = 'value'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `${title}: expected an integer from 0 to 4294967295, got ${String(value)}`, {
      title,
    });
  }
  return value;
}

const HEX = /^[0-9a-fA-F]*$/;

/** Parses hex (no 0x prefix) into bytes, of `length` bytes when given. */
export function hexToBytes(hex: string, length?: number, title = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || !HEX.test(hex)) {
    throw new HashgridError(ErrorCode.INVALID_HEX, `${title}: expected hex characters 0-9a-f only`, { title });
  }
  if (hex.length % 2 !== 0) {
    throw new HashgridError(ErrorCode.INVALID_HEX, `${title}: expected an even number of hex characters, got ${hex.length}`, {
      title,
    });
  }
  if (length !== undefined && hex.length !== length * 2) {
    throw new HashgridError(
      ErrorCode.INVALID_LENGTH,
      `${title}: expected ${length * 2} hex characters (${length} bytes), got ${hex.length}`,
      { title, expected: length * 2, actual: hex.length },
    );
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export const bytesToHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');

/** A reversed copy: internal byte order ⇄ display order of hashes. */
export const reverse = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes).reverse();

/** Bytes read as a little-endian unsigned integer. */
export function bytesToBigIntLE(bytes: Uint8Array): bigint {
  return BigInt(`0x${bytesToHex(reverse(bytes)) || '0'}`);
}

/** An unsigned integer as `length` little-endian bytes. */
export function bigIntToBytesLE(value: bigint, length: number): Uint8Array {
  return reverse(hexToBytes(value.toString(16).padStart(length * 2, '0'), length));
}
