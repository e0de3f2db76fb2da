/**
 * A Stratum job (the fields of mining.notify) and how a header is built from
 * it: coinbase = coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2; the merkle root
 * folds the coinbase hash with the branch; the header is version ‖ prevhash ‖
 * merkle root ‖ ntime ‖ nbits ‖ nonce in serialized byte order.
 * docs/protocol.md walks through a worked example.
 */
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { encodeHeader } from '../core/header.js';
import { sha256d } from '../core/sha256d.js';
import { ahex, StratumCode, StratumError } from './protocol.js';

export interface StratumJob {
  jobId: string;
  /** Previous block hash, Stratum form: internal byte order with every 4-byte word swapped. */
  prevhash: string;
  coinb1: string;
  coinb2: string;
  /** Sibling hashes from the coinbase up, internal byte order. */
  merkleBranch: string[];
  /** 8 hex digits, big-endian (as the value reads). */
  version: string;
  nbits: string;
  ntime: string;
  cleanJobs: boolean;
}

/** Reverses the bytes inside every 4-byte word (Stratum prevhash ⇄ internal order). */
export function swapWords(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) for (let k = 0; k < 4; k++) out[i + k] = bytes[i + 3 - k]!;
  return out;
}

export const prevhashToStratum = (internal: Uint8Array): string => bytesToHex(swapWords(internal));
export const prevhashFromStratum = (hex: string): Uint8Array => swapWords(hexToBytes(hex, 32, 'prevhash'));

/** mining.notify params, in wire order. */
export const notifyParams = (j: StratumJob): unknown[] => [j.jobId, j.prevhash, j.coinb1, j.coinb2, j.merkleBranch, j.version, j.nbits, j.ntime, j.cleanJobs];

/** Validates mining.notify params into a job. */
export function parseNotify(params: unknown[]): StratumJob {
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 64) throw new StratumError(StratumCode.OTHER, 'job_id: expected a string');
  if (!Array.isArray(branch) || branch.length > 32) throw new StratumError(StratumCode.OTHER, 'merkle_branch: expected at most 32 hashes');
  return {
    jobId,
    prevhash: ahex(prevhash, 32, 'prevhash'),
    coinb1: ahex(coinb1, undefined, 'coinb1'),
    coinb2: ahex(coinb2, undefined, 'coinb2'),
    merkleBranch: branch.map((b, i) => ahex(b, 32, `merkle_branch[${i}]`)),
    version: ahex(version, 4, 'version'),
    nbits: ahex(nbits, 4, 'nbits'),
    ntime: ahex(ntime, 4, 'ntime'),
    cleanJobs: clean === true,
  };
}

export function coinbase(job: StratumJob, extranonce1: string, extranonce2: string): Uint8Array {
  return hexToBytes(job.coinb1 + extranonce1 + extranonce2 + job.coinb2, undefined, 'coinbase');
}

/** Folds the coinbase hash up the branch: root = sha256d(root ‖ sibling) per level. */
export function merkleRootFromBranch(coinbaseHash: Uint8Array, branch: readonly string[]): Uint8Array {
  let root = coinbaseHash;
  for (const sibling of branch) {
    const pair = new Uint8Array(64);
    pair.set(root);
    pair.set(hexToBytes(sibling, 32, 'merkle_branch'), 32);
    root = sha256d(pair);
  }
  return root;
}

export interface Submission {
  extranonce1: string;
  extranonce2: string;
  /** 8 hex digits, big-endian value. */
  ntime: string;
  nonce: string;
  /** The full header version after BIP 310 rolling (default: the job's). */
  version?: number;
}

const u32 = (hex: string) => Number.parseInt(hex, 16) >>> 0;

/** The merkle root of a job's block with the given extranonces. */
export const merkleRootFor = (job: StratumJob, extranonce1: string, extranonce2: string): Uint8Array =>
  merkleRootFromBranch(sha256d(coinbase(job, extranonce1, extranonce2)), job.merkleBranch);

/**
 * The 80-byte header a submission describes. `root` skips the coinbase and
 * branch hashing when the caller already has the merkle root for these
 * extranonces (a miner submits many nonces per extranonce2).
 */
export function buildHeader(job: StratumJob, s: Submission, root = merkleRootFor(job, s.extranonce1, s.extranonce2)): Uint8Array {
  return encodeHeader({
    version: s.version ?? u32(job.version),
    prevHash: prevhashFromStratum(job.prevhash),
    merkleRoot: root,
    time: u32(s.ntime),
    bits: u32(job.nbits),
    nonce: u32(s.nonce),
  });
}

export const hex32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
