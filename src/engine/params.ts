/**
 * The parameter block every sha256d scan kernel reads (wasm and WGSL alike),
 * as 19 u32 words:
 *
 *   0..7    midstate: SHA-256 chaining value after header bytes 0..63
 *   8..10   header bytes 64..75 (merkle-root tail, time, bits) as big-endian words
 *   11..18  the target as a 256-bit little-endian number, least significant word first
 */
import { abytes } from '../core/bytes.js';
import { HEADER_LENGTH } from '../core/header.js';
import { midstate } from '../core/sha256d.js';
import { atarget } from '../core/target.js';

export const SCAN_PARAM_WORDS = 19;

export function scanParams(header: Uint8Array, target: bigint): Uint32Array {
  abytes(header, HEADER_LENGTH, 'header');
  atarget(target);
  const p = new Uint32Array(SCAN_PARAM_WORDS);
  p.set(midstate(header), 0);
  const view = new DataView(header.buffer, header.byteOffset, HEADER_LENGTH);
  for (let i = 0; i < 3; i++) p[8 + i] = view.getUint32(64 + 4 * i, false);
  for (let i = 0; i < 8; i++) p[11 + i] = Number((target >> BigInt(32 * i)) & 0xffffffffn);
  return p;
}
