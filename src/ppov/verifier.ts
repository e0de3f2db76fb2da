/**
 * Hashing off the node's thread. A block message is ~590 kB of JSON whose
 * Merkle root is the costliest check of a round; a Piscina pool decodes and
 * validates it (src/bus/codec.ts), hashes its transactions
 * (verifier-worker.ts) and hands back the block with its facts, which
 * chain.ts then takes instead of hashing again. Every rule is still checked
 * by chain.ts on the node's thread; the worker only computes. The pool also
 * hashes a node's next block ahead of time (`prefetching`).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ErrorCode, HashgridError } from '../core/errors.js';
import { builtFile } from '../engine/paths.js';
import { recordBlockFacts, type BlockFacts } from './chain.js';
import { frameTxs, type TxHasher } from './encode.js';
import type { Block } from './types.js';
import runTask from './verifier-worker.js';

export const VERIFIER_WORKER = 'dist/ppov/verifier-worker.js';

/** A worker's task: a block message to check, or framed transactions (encode.ts frameTxs) to hash. */
export type VerifierTask = { kind: 'block'; data: Uint8Array } | { kind: 'root'; framed: Uint8Array; count: number };

/** A worker's answer: the validated block and its facts, or why the message was refused. */
export type CheckedBlock = { block: Block; facts?: BlockFacts } | { error: { code: string; message: string; data: Record<string, unknown> } };

export interface VerifierOptions {
  /**
   * Worker threads (default 2, or 1 on a 1-core machine; 0 checks on the
   * calling thread). Two on two cores measured faster than one: the node's
   * thread mostly waits for the round's blocks while they are hashed
   * (README, PPoV benchmark).
   */
  threads?: number;
}

export class BlockVerifier {
  private constructor(private readonly pool: Piscina | undefined) {}

  static start(options: VerifierOptions = {}): BlockVerifier {
    const threads = options.threads ?? Math.min(2, availableParallelism());
    if (threads === 0) return new BlockVerifier(undefined);
    // Workers run compiled code from dist/: they need none of the parent's loaders (tsx, vitest).
    const pool = new Piscina({ filename: builtFile(VERIFIER_WORKER), minThreads: threads, maxThreads: threads, idleTimeout: Number.POSITIVE_INFINITY, execArgv: [] });
    return new BlockVerifier(pool);
  }

  private run<T>(task: VerifierTask, transfer: ArrayBuffer): Promise<T> {
    // Inline (0 threads): the same code, on this thread.
    return this.pool ? this.pool.run(task, { transferList: [transfer] }) : Promise.resolve(runTask(task) as T);
  }

  /** The block a `PpovBlock` message carries, its facts recorded (chain.ts); a malformed message is a typed error. */
  async check(data: Uint8Array): Promise<Block> {
    // A copy of exactly the message, moved (not cloned) to the worker: `data` views the client's read buffer
    // (a Node Buffer, whose slice() would not copy).
    const own = new Uint8Array(data);
    const answer = await this.run<CheckedBlock>({ kind: 'block', data: own }, own.buffer);
    if ('error' in answer) throw new HashgridError(answer.error.code as ErrorCode, answer.error.message, answer.error.data);
    if (answer.facts) recordBlockFacts(answer.block, answer.facts);
    return answer.block;
  }

  /**
   * A TxHasher for one node that hashes the block its machine hints at
   * (TxHasher.prefetch) on the pool, and answers from that result when asked
   * for exactly those transactions (the same objects, in order; transactions
   * are never changed once submitted). Anything else `fallback` computes.
   */
  prefetching(fallback: TxHasher): TxHasher {
    if (!this.pool) return fallback;
    let slot: { txs: readonly Uint8Array[]; root?: Uint8Array } | undefined;
    return {
      prefetch: (txs) => {
        const mine: { txs: readonly Uint8Array[]; root?: Uint8Array } = { txs };
        slot = mine;
        const framed = frameTxs(txs);
        this.run<Uint8Array>({ kind: 'root', framed, count: txs.length }, framed.buffer as ArrayBuffer).then(
          (root) => void (mine.root = root),
          () => {},
        );
      },
      merkleRoot: (txs) => {
        const s = slot;
        if (s?.root && s.txs.length === txs.length && s.txs.every((t, i) => t === txs[i])) {
          slot = undefined;
          return s.root;
        }
        return fallback.merkleRoot(txs);
      },
    };
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
