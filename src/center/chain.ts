/**
 * Where jobs come from. `TemplateSource` is what the distribution center
 * needs; `BuiltinChain` is a private chain for demos and tests: a genesis,
 * blocks with a coinbase and transactions, adjustable network difficulty,
 * a new block each time one is found and a fresh template on a timer.
 * A getblocktemplate source can implement the same interface.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '../core/bytes.js';
import { merkleBranch } from '../core/merkle.js';
import { sha256d } from '../core/sha256d.js';
import { difficultyToTarget, targetToBits } from '../core/target.js';
import { hex32, prevhashToStratum, type StratumJob } from '../stratum/job.js';

export interface Template {
  height: number;
  /** Previous block hash, internal byte order. */
  prevHash: Uint8Array;
  version: number;
  bits: number;
  time: number;
  /** Coinbase before and after the extranonces (serialized transaction bytes, hex). */
  coinb1: string;
  coinb2: string;
  /** Branch of the coinbase (leaf 0) over the template's transactions. */
  merkleBranch: string[];
  /** A new block at a new height: every older job is stale. */
  clean: boolean;
}

export interface TemplateSource {
  current(): Template;
  /** Called with each new template. Returns an unsubscribe function. */
  onTemplate(listener: (t: Template) => void): () => void;
  /** A header meeting the network target was found: advance the chain. */
  submitBlock(header: Uint8Array): void;
  close(): void;
}

/** Builtin chain options; every default is documented here. */
export interface BuiltinChainOptions {
  /** Network difficulty (default 0.05: a block every few minutes at a few MH/s). */
  difficulty?: number;
  /** Transactions per block besides the coinbase (default 3). */
  transactions?: number;
  /** A fresh template (new ntime, same height) this often (default 30 s; 0 = never). */
  refreshMs?: number;
  /** Bytes of extranonce1 + extranonce2 the coinbase reserves (default 4 + 4). */
  extranonceBytes?: number;
}

const le = (n: number, bytes: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b.subarray(0, bytes).toString('hex');
};

/** A coinbase transaction split around its extranonce (BIP 34 height first in the script). */
function coinbaseParts(height: number, extranonceBytes: number): { coinb1: string; coinb2: string } {
  const heightPush = `03${le(height, 3)}`;
  const tag = Buffer.from('/hashgrid/').toString('hex');
  const scriptLength = 4 + extranonceBytes + tag.length / 2;
  const coinb1 = `01000000` + `01` + '00'.repeat(32) + 'ffffffff' + scriptLength.toString(16).padStart(2, '0') + heightPush;
  const outputs = `01` + le(50 * 1e8, 8) + `01` + `51`; // one output: 50 coins to OP_TRUE
  const coinb2 = tag + 'ffffffff' + outputs + '00000000';
  return { coinb1, coinb2 };
}

export class BuiltinChain implements TemplateSource {
  height = 0;
  readonly blocks: { height: number; hash: string; header: string }[] = [];
  private tip: Uint8Array = sha256d(new TextEncoder().encode('hashgrid genesis'));
  private template: Template;
  private readonly listeners = new Set<(t: Template) => void>();
  private readonly timer: NodeJS.Timeout | undefined;
  private bits: number;

  constructor(private readonly options: BuiltinChainOptions = {}) {
    this.bits = targetToBits(difficultyToTarget(options.difficulty ?? 0.05));
    this.template = this.build(true);
    const refresh = options.refreshMs ?? 30_000;
    if (refresh > 0) {
      this.timer = setInterval(() => this.publish(this.build(false)), refresh);
      this.timer.unref();
    }
  }

  current(): Template {
    return this.template;
  }

  onTemplate(listener: (t: Template) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes the network difficulty from the next block on. */
  setDifficulty(difficulty: number): void {
    this.bits = targetToBits(difficultyToTarget(difficulty));
  }

  submitBlock(header: Uint8Array): void {
    const hash = sha256d(header);
    this.blocks.push({ height: this.height + 1, hash: bytesToHex(Uint8Array.from(hash).reverse()), header: bytesToHex(header) });
    this.tip = hash;
    this.height++;
    this.publish(this.build(true));
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private build(clean: boolean): Template {
    const { coinb1, coinb2 } = coinbaseParts(this.height + 1, this.options.extranonceBytes ?? 8);
    const txids = Array.from({ length: this.options.transactions ?? 3 }, () => randomBytes(32));
    // The coinbase leaf is a placeholder: the branch of leaf 0 does not depend on it.
    const branch = merkleBranch([new Uint8Array(32), ...txids], 0).map(bytesToHex);
    return { height: this.height + 1, prevHash: this.tip, version: 0x20000000, bits: this.bits, time: Math.floor(Date.now() / 1000), coinb1, coinb2, merkleBranch: branch, clean };
  }

  private publish(t: Template): void {
    this.template = t;
    for (const l of this.listeners) l(t);
  }
}

/** A template as a Stratum job. */
export function templateToJob(jobId: string, t: Template): StratumJob {
  return {
    jobId,
    prevhash: prevhashToStratum(t.prevHash),
    coinb1: t.coinb1,
    coinb2: t.coinb2,
    merkleBranch: t.merkleBranch,
    version: hex32(t.version),
    nbits: hex32(t.bits),
    ntime: hex32(t.time),
    cleanJobs: t.clean,
  };
}
