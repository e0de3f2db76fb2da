/**
 * Hashing nodes as an operator runs them on a GPU server, on a real
 * nats-server: a node on a chosen WebGPU adapter (lavapipe in CI) registers
 * that adapter in its hardware profile and logs a lost device in its own
 * log as it carries on on wasm; and a node whose hit buffer
 * overflows says so in its log and its metrics instead of losing shares
 * silently.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TARGET, targetToHex } from '../../src/core/target.js';
import { connectBus } from '../../src/bus/connect.js';
import { ensureSharesStream } from '../../src/bus/jetstream.js';
import { request } from '../../src/bus/rpc.js';
import { NodeDescribe, NodeRegister, SCHEMA_VERSION, WorkAccepted, WorkAssignment } from '../../src/bus/schemas.js';
import { subjects } from '../../src/bus/subjects.js';
import { closeAllGpus, listAdapters, openGpu, type AdapterSummary } from '../../src/engine/gpu/webgpu.js';
import { createRegistry, nodeMetrics } from '../../src/metrics/metrics.js';
import { NodeAgent } from '../../src/node/agent.js';
import { startServer, stopAll, waitFor } from '../helpers/nats.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

let nc: NatsConnection;
const agents: NodeAgent[] = [];
let gpuNode: { agent: NodeAgent; lines: string[]; selector: string } | undefined;

beforeAll(async () => {
  const server = await startServer();
  nc = await connectBus({ servers: server.url });
  await ensureSharesStream(nc);
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await nc?.close();
  await stopAll();
  await closeAllGpus();
});

const describeNode = (nodeId: string) => request(nc, subjects.nodeDescribe(nodeId), NodeDescribe, { v: SCHEMA_VERSION }, NodeRegister, 'NodeDescribe');

describe('a gpu node', () => {
  it('hashes on the adapter it was given and registers that adapter in its hardware profile', async () => {
    const adapters = await listAdapters();
    // The last adapter by name: not just whatever the default happens to be.
    const chosen: AdapterSummary = adapters[adapters.length - 1]!;
    const lines: string[] = [];
    const agent = await NodeAgent.start({ nc, nodeId: 'gpu-1', backend: 'gpu', adapter: chosen.name, calibrateMs: 300, log: (l) => lines.push(l) });
    agents.push(agent);
    const registration = await describeNode('gpu-1');
    expect(registration.profile.gpus).toEqual([{ vendor: chosen.vendor, architecture: chosen.architecture, description: chosen.description }]);
    expect(registration.backends).toEqual([{ backend: 'gpu', lanes: 2, hashrate: agent.calibratedRate }]);
    expect(agent.calibratedRate).toBeGreaterThan(0);
    gpuNode = { agent, lines, selector: chosen.name };
  }, 120_000);

  it('logs a lost device in the node log and goes on mining on wasm', async () => {
    const { agent, lines, selector } = gpuNode!;
    const work = { v: SCHEMA_VERSION, jobId: 'deep', owner: 'alice', header: bitcoinHeaders()[1]!.header, nonceStart: 0, nonceCount: 2 ** 32, shareTarget: targetToHex(MAX_TARGET >> 20n) };
    await request(nc, subjects.nodeWork('gpu-1'), WorkAssignment, work, WorkAccepted, 'work');
    // The node's engine shares the process's device for this adapter: destroying it is a real loss.
    (await openGpu(selector)).device.destroy();
    await waitFor(() => agent.engineBackend === 'wasm', 20_000, 'the node on wasm');
    expect(lines.join('\n')).toMatch(/DEVICE_LOST: GPU device lost .*; continuing on wasm/);
    // About one share per 2^20 hashes: shares keep coming from the wasm threads.
    const found = agent.sharesFound;
    await waitFor(() => agent.sharesFound > found, 30_000, 'a share found on wasm');
    expect(agent.state).toBe('mining');
  }, 60_000);

  it('a wasm node reports no GPU', async () => {
    const agent = await NodeAgent.start({ nc, nodeId: 'cpu-1', threads: 1, calibrateMs: 0 });
    agents.push(agent);
    expect((await describeNode('cpu-1')).profile.gpus).toEqual([]);
  });
});

describe('hit-buffer overflow while mining', () => {
  it('is logged by the node and counted in hashgrid_node_hits_dropped_total', async () => {
    const registry = createRegistry('node');
    const metrics = nodeMetrics(registry);
    const lines: string[] = [];
    const agent = await NodeAgent.start({ nc, nodeId: 'over-1', threads: 1, calibrateMs: 0, metrics, log: (l) => lines.push(l) });
    agents.push(agent);
    const count = 8192;
    // Every nonce meets the largest target; one wasm chunk keeps at most 1,024 hits.
    const work = {
      v: SCHEMA_VERSION,
      jobId: 'flood',
      owner: 'alice',
      header: bitcoinHeaders()[0]!.header,
      nonceStart: 0,
      nonceCount: count,
      shareTarget: targetToHex(MAX_TARGET),
    };
    await request(nc, subjects.nodeWork('over-1'), WorkAssignment, work, WorkAccepted, 'work');
    await waitFor(() => agent.sharesFound + agent.droppedHits === count, 20_000, 'every nonce found or counted as dropped');
    expect(agent.droppedHits).toBeGreaterThan(0);
    expect((await metrics.hitsDropped.get()).values[0]!.value).toBe(agent.droppedHits);
    expect(await registry.metrics()).toMatch(new RegExp(`^hashgrid_node_hits_dropped_total\\{role="node"\\} ${agent.droppedHits}$`, 'm'));
    expect(lines.join('\n')).toMatch(/hit buffer full on job flood: \d+ hits dropped/);
  }, 60_000);
});
