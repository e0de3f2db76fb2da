/**
 * Signatures and hashes for the PPoV ledger: Ed25519 through node:crypto with
 * cached KeyObjects (building a KeyObject costs more than a signature), and
 * SHA-256 for identities and the drawing of lots.
 */
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { bytesToHex, hexToBytes } from '../core/bytes.js';

/** DER prefixes that wrap a raw 32-byte Ed25519 seed / public key (RFC 8410). */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

export const sha256 = (...parts: (Uint8Array | string)[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** A node's signing identity: the 32-byte seed stays here, the public key is its name on the ledger. */
export interface Identity {
  id: string;
  /** Raw Ed25519 public key, 64 hex. */
  publicKey: string;
  readonly privateKey: KeyObject;
  /** Seed of this node's hash chain of reveals (see draw.ts); derived from the signing seed. */
  readonly revealSecret: Uint8Array;
}

/** Builds an identity from a 32-byte seed (deterministic: tests and simulations derive seeds from an index). */
export function identityFromSeed(id: string, seed: Uint8Array): Identity {
  const privateKey = createPrivateKey({ key: Buffer.from(concat(PKCS8_PREFIX, seed)), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { id, publicKey: bytesToHex(new Uint8Array(spki.subarray(SPKI_PREFIX.length))), privateKey, revealSecret: sha256('hashgrid/ppov/reveal', seed) };
}

const publicKeys = new Map<string, KeyObject>();
function publicKeyObject(publicKeyHex: string): KeyObject {
  let key = publicKeys.get(publicKeyHex);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, hexToBytes(publicKeyHex))), format: 'der', type: 'spki' });
    publicKeys.set(publicKeyHex, key);
  }
  return key;
}

/** Signs `message`; returns the 64-byte signature as 128 hex. */
export const signHex = (identity: Identity, message: Uint8Array): string => bytesToHex(new Uint8Array(edSign(null, message, identity.privateKey)));

/**
 * Verified (public key, message, signature) triples. A signature is checked
 * once per process however many nodes or re-deliveries see it: the cache key
 * is the SHA-256 of all three, so a hit is exactly as strong as a check.
 */
const verified = new Set<string>();
const VERIFIED_LIMIT = 200_000;

export function verifyHex(publicKeyHex: string, message: Uint8Array, signatureHex: string): boolean {
  if (!/^[0-9a-f]{128}$/.test(signatureHex) || !/^[0-9a-f]{64}$/.test(publicKeyHex)) return false;
  const key = bytesToHex(sha256(publicKeyHex, message, signatureHex));
  if (verified.has(key)) return true;
  let ok: boolean;
  try {
    ok = edVerify(null, message, publicKeyObject(publicKeyHex), Buffer.from(hexToBytes(signatureHex)));
  } catch {
    ok = false;
  }
  if (ok) {
    if (verified.size >= VERIFIED_LIMIT) verified.clear();
    verified.add(key);
  }
  return ok;
}

export { concat };
