/**
 * Mining for a Stratum V1 pool with a hashgrid engine: follows the pool's
 * jobs and difficulty, rolls extranonce2 when a header's nonces are spent,
 * and submits every (re-verified) hit. This is how nodes and the scheduler
 * work for any real pool, and how tests drive the distribution center.
 */
import { difficultyToTarget, MAX_TARGET } from '../core/target.js';
import type { HashEngine } from '../engine/engine.js';
import { StratumClient } from '../stratum/client.js';
import { buildHeader, hex32, type StratumJob } from '../stratum/job.js';
import { StratumError } from '../stratum/protocol.js';

export interface StratumMinerOptions {
  host: string;
  port: number;
  /** "<sub-account>.<rig>" */
  worker: string;
  password: string;
  engine: HashEngine;
  /** Ask for BIP 310 version rolling (default false). */
  versionRolling?: boolean;
  onAccepted?: (jobId: string, nonce: number) => void;
  onRejected?: (jobId: string, error: StratumError) => void;
}

export class StratumMiner {
  accepted = 0;
  rejected = 0;
  private constructor(
    readonly client: StratumClient,
    private readonly options: StratumMinerOptions,
  ) {}

  static async start(options: StratumMinerOptions): Promise<StratumMiner> {
    const client = await StratumClient.connect({ host: options.host, port: options.port });
    const miner = new StratumMiner(client, options);
    client.on('notify', (job) => miner.mine(job));
    if (options.versionRolling) await client.configureVersionRolling();
    await client.subscribe();
    if (!(await client.authorize(options.worker, options.password))) throw new Error(`${options.worker}: not authorized`);
    return miner;
  }

  private mine(job: StratumJob): void {
    const { client, options } = this;
    const target = safeTarget(client.difficulty);
    const size = client.extranonce2Size;
    options.engine.mine(
      {
        id: job.jobId,
        target,
        // Each roll is a new extranonce2: a new coinbase, a new merkle root, 2^32 fresh nonces.
        header: (roll) =>
          roll >= 2 ** Math.min(32, size * 8)
            ? undefined
            : buildHeader(job, { extranonce1: client.extranonce1, extranonce2: extranonce2Hex(roll, size), ntime: job.ntime, nonce: '00000000' }),
      },
      {
        onHit: (hit) => {
          client
            .submit(options.worker, job.jobId, extranonce2Hex(hit.roll, size), job.ntime, hex32(hit.nonce))
            .then(() => {
              this.accepted++;
              options.onAccepted?.(job.jobId, hit.nonce);
            })
            .catch((e: unknown) => {
              this.rejected++;
              if (e instanceof StratumError) options.onRejected?.(job.jobId, e);
            });
        },
      },
    );
  }

  close(): void {
    this.options.engine.stop();
    this.client.close();
  }
}

const extranonce2Hex = (roll: number, size: number) => roll.toString(16).padStart(size * 2, '0').slice(-size * 2);

function safeTarget(difficulty: number): bigint {
  try {
    return difficultyToTarget(difficulty);
  } catch {
    return MAX_TARGET;
  }
}
