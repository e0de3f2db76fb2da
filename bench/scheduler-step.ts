/**
 * The real scheduler step at pool scale: a nats-server, a distribution
 * center, a node pool holding `nodes` registrations, and one responder
 * standing in for the nodes' work and control endpoints (a real round trip
 * per assignment, no hashing). Times `Scheduler.step()`: the first one,
 * which hands every node its work, and steady ones, which rotate slices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBus } from '../src/bus/connect.js';
import { decode, encode } from '../src/bus/codec.js';
import { Heartbeat, NodeRegister, NodeRegistered, SCHEMA_VERSION, WorkAccepted, WorkAssignment, ControlDone } from '../src/bus/schemas.js';
import { request } from '../src/bus/rpc.js';
import { NatsServer } from '../src/bus/server.js';
import { subjects } from '../src/bus/subjects.js';
import { BuiltinChain } from '../src/center/chain.js';
import { DistributionCenter } from '../src/center/center.js';
import { HASHGRID_VERSION } from '../src/node/agent.js';
import { NodePool } from '../src/node/pool.js';
import { hardwareProfile } from '../src/node/profile.js';
import { Scheduler } from '../src/scheduler/scheduler.js';

export interface StepTimes {
  nodes: number;
  subAccounts: number;
  firstStepMs: number;
  steadyStepMsP50: number;
  steadyStepMsMax: number;
  assignments: number;
}

export async function stepBench(nodeCount: number, accountCount: number, steadySteps = 5): Promise<StepTimes> {
  const dir = mkdtempSync(join(tmpdir(), 'hashgrid-bench-step-'));
  const server = await NatsServer.start({ stateDir: dir });
  const nc = await connectBus({ servers: server.url, name: 'bench-step' });
  const nodesConn = await connectBus({ servers: server.url, name: 'bench-nodes' });
  const chain = new BuiltinChain({ difficulty: 1, refreshMs: 0 });
  const accounts = Array.from({ length: accountCount }, (_, i) => ({ id: `a${i}`, password: `password-${i}`, standard: (1 + (i % 7)) * 1e11, windowSeconds: 600 }));
  const center = await DistributionCenter.start({ nc, source: chain, subAccounts: accounts });
  // Heartbeats never time out during the bench: the pool's view stays as registered.
  const pool = new NodePool(nc, { heartbeatMs: 600_000 });
  let assignments = 0;
  const work = nodesConn.subscribe('hashgrid.nodes.*.work', {
    callback: (_, m) => {
      const w = decode(WorkAssignment, m.data, 'WorkAssignment');
      assignments++;
      m.respond(encode(WorkAccepted, { v: SCHEMA_VERSION, jobId: w.jobId }));
    },
  });
  const control = nodesConn.subscribe('hashgrid.nodes.*.control', { callback: (_, m) => void m.respond(encode(ControlDone, { v: SCHEMA_VERSION, state: 'idle' })) });
  await nc.flush(); // the pool's subscriptions are in place
  await nodesConn.flush();
  const profile = hardwareProfile();
  for (let i = 0; i < nodeCount; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, nodeCount - i) }, (_, j) =>
        request(nodesConn, subjects.nodeRegister, NodeRegister, { v: SCHEMA_VERSION, nodeId: `n${i + j}`, version: HASHGRID_VERSION, profile, backends: [{ backend: 'wasm', lanes: 4, hashrate: (1 + ((i + j) % 20)) * 1e9 }] }, NodeRegistered, 'NodeRegister'),
      ),
    );
  }
  for (let i = 0; i < nodeCount; i++) {
    const rate = (1 + (i % 20)) * 1e9;
    nodesConn.publish(subjects.nodeHeartbeat(`n${i}`), encode(Heartbeat, { v: SCHEMA_VERSION, nodeId: `n${i}`, seq: 1, state: 'mining', hashrate: { wasm: rate }, sharesFound: 0, uptimeSeconds: 1 }));
  }
  await nodesConn.flush();
  while (pool.nodes().length < nodeCount) await new Promise((r) => setTimeout(r, 20));
  const plan = { name: 'bench', subAccounts: accounts.map((a) => ({ center: 'main', id: a.id, password: a.password })), decisionMs: 60_000, sliceMs: 500 };
  // start() runs the first step: authentication, tasks, the first plan and every node's first assignment.
  const t0 = performance.now();
  const scheduler = await Scheduler.start({ nc, pool, plan });
  const firstStepMs = performance.now() - t0;
  const firstAssignments = assignments;
  const times: number[] = [];
  for (let i = 0; i < steadySteps; i++) {
    await new Promise((r) => setTimeout(r, 550)); // past a slice: time-sliced nodes rotate
    const t = performance.now();
    await scheduler.step();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  await scheduler.stop();
  work.unsubscribe();
  control.unsubscribe();
  pool.stop();
  await center.close();
  chain.close();
  await nodesConn.close();
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  return { nodes: nodeCount, subAccounts: accountCount, firstStepMs, steadyStepMsP50: times[Math.floor(times.length / 2)]!, steadyStepMsMax: times.at(-1)!, assignments: firstAssignments };
}
