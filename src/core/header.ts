/**
 * The 80-byte Bitcoin block header. Serialized layout (all integers
 * little-endian; hashes in internal byte order, the reverse of display order):
 *
 *   0..3 version · 4..35 prev-block hash · 36..67 merkle root ·
 *   68..71 time · 72..75 bits · 76..79 nonce
 */
import { abytes, auint32, hexToBytes } from './bytes.js';

export const HEADER_LENGTH = 80;
export const NONCE_OFFSET = 76;

export interface BlockHeader {
  version: number;
  /** Internal byte order (as serialized), 32 bytes. */
  prevHash: Uint8Array;
  /** Internal byte order (as serialized), 32 bytes. */
  merkleRoot: Uint8Array;
  time: number;
  bits: number;
  nonce: number;
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, auint32(h.version, 'version'), true);
  out.set(abytes(h.prevHash, 32, 'prevHash'), 4);
  out.set(abytes(h.merkleRoot, 32, 'merkleRoot'), 36);
  view.setUint32(68, auint32(h.time, 'time'), true);
  view.setUint32(72, auint32(h.bits, 'bits'), true);
  view.setUint32(76, auint32(h.nonce, 'nonce'), true);
  return out;
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  const b = abytes(bytes, HEADER_LENGTH, 'header');
  const view = new DataView(b.buffer, b.byteOffset, HEADER_LENGTH);
  return {
    version: view.getUint32(0, true),
    prevHash: b.slice(4, 36),
    merkleRoot: b.slice(36, 68),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(76, true),
  };
}

/** Parses a header from its 160 hex characters (serialized byte order). */
export const parseHeaderHex = (hex: string, title = 'header'): Uint8Array => hexToBytes(hex, HEADER_LENGTH, title);

/** A copy of `header` with its nonce field set. */
export function withNonce(header: Uint8Array, nonce: number): Uint8Array {
  const out = Uint8Array.from(abytes(header, HEADER_LENGTH, 'header'));
  new DataView(out.buffer).setUint32(NONCE_OFFSET, auint32(nonce, 'nonce'), true);
  return out;
}

export const headerBits = (header: Uint8Array): number =>
  new DataView(header.buffer, header.byteOffset, HEADER_LENGTH).getUint32(72, true);
