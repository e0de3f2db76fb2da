/**
 * Making and reading a consortium: the genesis (the chain's constitution:
 * members, their keys and reveal commitments, bookkeepers, quorum, K,
 * timing) and each member's key file (its Ed25519 seed). `hashgrid ppov init`
 * writes them; `hashgrid ppov` reads them.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { identityFromSeed, type Identity } from './crypto.js';
import { commitmentFor } from './draw.js';
import type { Genesis, QuorumMode, Timing } from './types.js';

const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters');
const GenesisSchema = z.object({
  chainId: token,
  members: z.array(z.object({ id: token, publicKey: hex64, commitment: hex64 })).min(1).max(1024),
  bookkeepers: z.array(token).min(1),
  quorum: z.enum(['majority', 'bft']),
  maxTxPerBlock: z.number().int().positive(),
  revealChainLength: z.number().int().min(2).max(10_000_000),
  termLength: z.number().int().positive(),
  bookkeepersPerTerm: z.number().int().positive(),
  timing: z.object({
    blockDeadlineMs: z.number().int().positive(),
    viewTimeoutMs: z.number().int().positive(),
    rebroadcastMs: z.number().int().positive(),
    minRoundMs: z.number().int().nonnegative().optional(),
  }),
});
const KeySchema = z.object({ id: token, seed: hex64 });

/** Defaults of a local consortium: rounds at most once a second, K = 10,000 (Table 1's prototype). */
export const DEFAULT_TIMING: Timing = { blockDeadlineMs: 1000, viewTimeoutMs: 2000, rebroadcastMs: 250, minRoundMs: 1000 };

export interface ConsortiumOptions {
  chainId: string;
  ids: string[];
  quorum?: QuorumMode;
  maxTxPerBlock?: number;
  /** Heights the ledger can run (each member's hash chain of reveals, draw.ts); default 100,000. */
  revealChainLength?: number;
  termLength?: number;
  timing?: Timing;
  /** Seeds by id (default: fresh random ones). */
  seeds?: Record<string, Uint8Array>;
}

export interface Consortium {
  genesis: Genesis;
  identities: Identity[];
  seeds: Record<string, Uint8Array>;
}

/** A genesis where every member is both bookkeeper and consortium node ([0168]). */
export function makeConsortium(o: ConsortiumOptions): Consortium {
  const length = o.revealChainLength ?? 100_000;
  const seeds = Object.fromEntries(o.ids.map((id) => [id, o.seeds?.[id] ?? new Uint8Array(randomBytes(32))]));
  const identities = o.ids.map((id) => identityFromSeed(id, seeds[id]!));
  const genesis: Genesis = {
    chainId: o.chainId,
    members: identities.map((m) => ({ id: m.id, publicKey: m.publicKey, commitment: commitmentFor(m.revealSecret, length) })),
    bookkeepers: [...o.ids],
    quorum: o.quorum ?? 'majority',
    maxTxPerBlock: o.maxTxPerBlock ?? 10_000,
    revealChainLength: length,
    termLength: o.termLength ?? 1000,
    bookkeepersPerTerm: o.ids.length,
    timing: o.timing ?? DEFAULT_TIMING,
  };
  return { genesis, identities, seeds };
}

const fail = (path: string, what: string, e: unknown): never => {
  const detail = e instanceof z.ZodError ? e.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ') : (e as Error).message;
  throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `${what} ${path}: ${detail}`, { path });
};

export function readGenesis(path: string): Genesis {
  try {
    return GenesisSchema.parse(JSON.parse(readFileSync(path, 'utf8'))) as Genesis;
  } catch (e) {
    return fail(path, 'genesis', e);
  }
}

export function writeGenesis(path: string, g: Genesis): void {
  writeFileSync(path, `${JSON.stringify(g, null, 2)}\n`);
}

/** Reads a key file; the identity must be a member of `genesis` with the same public key. */
export function readIdentity(path: string, genesis?: Genesis): Identity {
  let key: z.infer<typeof KeySchema>;
  try {
    key = KeySchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (e) {
    return fail(path, 'key file', e);
  }
  const identity = identityFromSeed(key.id, hexToBytes(key.seed));
  const member = genesis?.members.find((m) => m.id === key.id);
  // Rule: a node runs as a member of the genesis, with the key the genesis lists.
  if (genesis && (!member || member.publicKey !== identity.publicKey)) {
    throw new HashgridError(ErrorCode.INVALID_ARGUMENT, `key file ${path}: ${key.id} is not a member of chain ${genesis.chainId} with this key`, { path });
  }
  return identity;
}

export function writeIdentity(path: string, id: string, seed: Uint8Array): void {
  writeFileSync(path, `${JSON.stringify({ id, seed: bytesToHex(seed) })}\n`, { mode: 0o600 });
}
