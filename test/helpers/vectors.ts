/**
 * Test data from ../shared/vectors (beside the repository), or from
 * HASHGRID_VECTORS when set.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';

export const VECTORS_DIR = process.env.HASHGRID_VECTORS ?? join(PACKAGE_ROOT, '..', 'shared', 'vectors');

export interface HeaderVector {
  height: number;
  hash: string;
  header: string;
  version: number;
  time: number;
  bits: number;
  nonce: number;
}

export const bitcoinHeaders = (): HeaderVector[] =>
  JSON.parse(readFileSync(join(VECTORS_DIR, 'bitcoin-headers.json'), 'utf8')) as HeaderVector[];

export interface NistVector {
  len: number;
  msg: Uint8Array;
  md: string;
}

/** Parses a NIST CAVP .rsp file (Len/Msg/MD triples); Len is in bits. */
export function nistVectors(file: 'SHA256ShortMsg.rsp' | 'SHA256LongMsg.rsp'): NistVector[] {
  const text = readFileSync(join(VECTORS_DIR, 'nist', file), 'utf8');
  const out: NistVector[] = [];
  let len = -1;
  let msg = '';
  for (const line of text.split(/\r?\n/)) {
    const m = /^(Len|Msg|MD) = ([0-9a-f]*)$/i.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'Len') len = Number(m[2]);
    else if (m[1] === 'Msg') msg = m[2]!;
    else out.push({ len, msg: Uint8Array.from(Buffer.from(msg, 'hex')).subarray(0, len / 8), md: m[2]!.toLowerCase() });
  }
  return out;
}

/** The Monte Carlo seed and its 100 checkpoints. */
export function nistMonte(): { seed: Uint8Array; checkpoints: string[] } {
  const text = readFileSync(join(VECTORS_DIR, 'nist', 'SHA256Monte.rsp'), 'utf8');
  const seed = /^Seed = ([0-9a-f]+)/im.exec(text)![1]!;
  const checkpoints = [...text.matchAll(/^MD = ([0-9a-f]+)/gim)].map((m) => m[1]!.toLowerCase());
  return { seed: Uint8Array.from(Buffer.from(seed, 'hex')), checkpoints };
}
