/**
 * Distribution centers for tests: driving one over the bus the way a hashing
 * node does (authenticate, take a task, submit shares), and a real center on
 * a fresh nats-server with two sub-accounts whose standards are out of reach,
 * so work never stops for them (what the scheduler tests that count shares
 * start from).
 */
import { connectBus } from '../../src/bus/connect.js';
import { request } from '../../src/bus/rpc.js';
import { Authenticate, Authenticated, SCHEMA_VERSION, Task, TaskRequest, TaskResult, TaskResultAck } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { DistributionCenter } from '../../src/center/center.js';
import { BuiltinChain } from '../../src/center/chain.js';
import { hashToBigInt, sha256d } from '../../src/core/sha256d.js';
import { parseTargetHex } from '../../src/core/target.js';
import { buildHeader, hex32 } from '../../src/stratum/job.js';
import { startServer } from './nats.js';
import type { NatsConnection } from '@nats-io/transport-node';

/** Authenticates, takes one task and submits `n` shares found with the reference; returns the acks. */
export async function deliverShares(nc: NatsConnection, centerId: string, account: string, password: string, n: number) {
  const s = subjects.center(centerId);
  const { token } = await request(nc, s.authenticate, Authenticate, { v: SCHEMA_VERSION, subAccount: account, password }, Authenticated, 'Authenticate');
  const task = await request(nc, s.task, TaskRequest, { v: SCHEMA_VERSION, token }, Task, 'TaskRequest');
  const target = parseTargetHex(task.shareTarget);
  const acks = [];
  for (let en2 = 0; acks.length < n; en2++) {
    const e2 = hex32(en2);
    for (let nonce = 0; ; nonce++) {
      if (hashToBigInt(sha256d(buildHeader(task, { extranonce1: task.extranonce1, extranonce2: e2, ntime: task.ntime, nonce: hex32(nonce) }))) <= target) {
        acks.push(await request(nc, s.result, TaskResult, { v: SCHEMA_VERSION, token, jobId: task.jobId, extranonce2: e2, ntime: task.ntime, nonce: hex32(nonce) }, TaskResultAck, 'TaskResult'));
        break;
      }
    }
  }
  return { task, token, acks };
}

export async function unreachableStandards() {
  const server = await startServer();
  const nc = await connectBus({ servers: server.url });
  const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
  const accounts = [
    { id: 'alice', password: 'alice-secret', standard: 1e9, windowSeconds: 600 },
    { id: 'bob', password: 'bob-secret-1', standard: 1e9, windowSeconds: 600 },
  ];
  const center = await DistributionCenter.start({ nc, source: chain, subAccounts: accounts, initialDifficulty: 2 ** -16 });
  const close = async () => {
    await center.close();
    chain.close();
    await nc.close();
  };
  return { server, nc, chain, accounts, center, close };
}
