/**
 * A seeded, deterministic simulation of a PPoV consortium: n pure state
 * machines, a network that loses, delays and reorders messages, partitions,
 * crashes and restarts (from what each node persisted), and byzantine twins
 * (a second machine with the same identity whose messages of one kind also go
 * out). Invariants are checked after every delivery and tick:
 *   - no two different block groups at one height on any two honest nodes;
 *   - every stored group verifies: each honest node's persisted chain is
 *     extended, group by group as it is stored, from the genesis on through
 *     chain.ts (what a restart replays);
 *   - liveness: after the faults heal, every honest node stores new groups.
 * Everything random comes from the seed: a failing seed reproduces with
 * `PPOV_SEED=<seed> npx vitest run test/unit/ppov-sim.test.ts`.
 */
import { sha256, identityFromSeed, type Identity } from '../../src/ppov/crypto.js';
import { commitmentFor } from '../../src/ppov/draw.js';
import { referenceTxHasher } from '../../src/ppov/encode.js';
import { applyGroup, initialState, type ChainState } from '../../src/ppov/chain.js';
import { PpovMachine, type Effect } from '../../src/ppov/machine.js';
import type { Block, BlockGroup, Genesis, PpovMessage, QuorumMode, Vote } from '../../src/ppov/types.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REVEALS = 600;
const identities: Identity[] = [];
export function simIdentity(i: number): Identity {
  return (identities[i] ??= identityFromSeed(`n${i}`, sha256('hashgrid/ppov/sim-key', String(i))));
}

export function simGenesis(n: number, chainId: string, quorum: QuorumMode, overrides: Partial<Genesis> = {}): Genesis {
  const ids = Array.from({ length: n }, (_, i) => simIdentity(i));
  return {
    chainId,
    members: ids.map((m) => ({ id: m.id, publicKey: m.publicKey, commitment: commitmentFor(m.revealSecret, REVEALS) })),
    bookkeepers: ids.map((m) => m.id),
    quorum,
    maxTxPerBlock: 8,
    revealChainLength: REVEALS,
    termLength: 1000,
    bookkeepersPerTerm: n,
    timing: { blockDeadlineMs: 60, viewTimeoutMs: 200, rebroadcastMs: 50 },
    ...overrides,
  };
}

export type TwinRole = 'block' | 'vote' | 'header';

export interface SimOptions {
  seed: number;
  n: number;
  quorum?: QuorumMode;
  /** Simulated milliseconds with faults, then as long again healed. */
  faultMs?: number;
  healMs?: number;
  loss?: number;
  maxDelayMs?: number;
  crashes?: number;
  partition?: boolean;
  /** A twin of node 0 sending messages of this kind. */
  twin?: TwinRole;
  genesis?: Partial<Genesis>;
}

export interface SimResult {
  heights: number[];
  heightAtHeal: number[];
  evidence: number;
  rejected: number;
  trace: string[];
}

interface Instance {
  machine: PpovMachine;
  index: number;
  twin: boolean;
  down: boolean;
  persisted: { groups: BlockGroup[]; ownVotes: Vote[]; ownBlocks: Block[] };
  /** The persisted chain, verified from the genesis group by group as it was stored. */
  verified: { state: ChainState };
}

export class SimFailure extends Error {}

export function simulate(o: SimOptions): SimResult {
  const random = rng(o.seed);
  const quorum = o.quorum ?? 'majority';
  const genesis = simGenesis(o.n, `sim-${o.seed}`, quorum, o.genesis);
  const faultMs = o.faultMs ?? 3000;
  const healMs = o.healMs ?? 3000;
  const loss = o.loss ?? 0.1;
  const maxDelay = o.maxDelayMs ?? 30;
  const trace: string[] = [];
  const fail = (what: string): never => {
    throw new SimFailure(`seed ${o.seed} (n=${o.n}, ${quorum}${o.twin ? `, twin ${o.twin}` : ''}): ${what}\n${trace.slice(-20).join('\n')}`);
  };

  const mk = (index: number, twin: boolean, persisted: Instance['persisted'], verified: Instance['verified']): Instance => ({
    machine: new PpovMachine({ genesis, identity: simIdentity(index), hasher: referenceTxHasher, restore: persisted }),
    index,
    twin,
    down: false,
    persisted,
    verified,
  });
  const fresh = () => ({ groups: [], ownVotes: [], ownBlocks: [] });
  const nodes: Instance[] = Array.from({ length: o.n }, (_, i) => mk(i, false, fresh(), { state: initialState(genesis) }));
  if (o.twin) nodes.push(mk(0, true, fresh(), { state: initialState(genesis) }));
  const honest = (x: Instance) => !x.twin && !(o.twin && x.index === 0);

  // Faults: crash windows and a partition, all inside [0, faultMs).
  const crashes = Array.from({ length: o.crashes ?? 0 }, () => {
    const start = Math.floor(random() * faultMs * 0.6);
    return { node: 1 + Math.floor(random() * (o.n - 1)), start, end: start + 200 + Math.floor(random() * faultMs * 0.4) };
  });
  const partStart = Math.floor(random() * faultMs * 0.5);
  const partEnd = partStart + Math.floor(random() * faultMs * 0.5);
  const side = Array.from({ length: o.n }, () => random() < 0.5);
  const cut = (a: number, b: number, t: number) => o.partition === true && t >= partStart && t < partEnd && side[a] !== side[b];

  // The network: a time-ordered queue; random delays reorder messages.
  let seq = 0;
  const queue: { at: number; seq: number; to: number; from: number; msg: PpovMessage }[] = [];
  const push = (at: number, to: number, from: number, msg: PpovMessage) => {
    queue.push({ at, seq: seq++, to, from, msg });
  };
  const finalized = new Map<number, string>();
  let evidence = 0;
  let rejected = 0;

  const deliverTo = (now: number, fromNode: Instance, targets: number[], msg: PpovMessage) => {
    for (const to of targets) {
      if (now < faultMs && (random() < loss || cut(fromNode.index, to, now))) continue;
      push(now + 1 + Math.floor(random() * maxDelay), to, fromNode.index, msg);
    }
  };

  const apply = (x: Instance, fx: Effect[], now: number) => {
    for (const e of fx) {
      switch (e.kind) {
        case 'stored': {
          x.persisted.groups.push(e.group);
          if (!honest(x)) break;
          // Invariant: every stored group verifies, following the node's persisted chain.
          try {
            x.verified.state = applyGroup(x.verified.state, e.group, referenceTxHasher);
          } catch (err) {
            fail(`n${x.index} stored a group that does not verify at height ${e.group.header.height}: ${(err as Error).message}`);
          }
          const h = e.group.header.height;
          const seen = finalized.get(h);
          // Invariant: no two different block groups at one height on two honest nodes.
          if (seen !== undefined && seen !== e.group.header.groupId) fail(`two groups at height ${h}: ${seen.slice(0, 12)} and ${e.group.header.groupId.slice(0, 12)}`);
          finalized.set(h, e.group.header.groupId);
          trace.push(`${now} n${x.index} stored ${h} view ${e.group.header.view} ${e.group.header.groupId.slice(0, 8)}`);
          break;
        }
        case 'voted':
          x.persisted.ownVotes.push(e.vote);
          break;
        case 'proposed':
          x.persisted.ownBlocks.push(e.block);
          break;
        case 'evidence':
          evidence++;
          break;
        case 'rejected':
          rejected++;
          break;
        case 'broadcast':
        case 'send': {
          // A twin speaks only in its byzantine role.
          if (x.twin && e.msg.type !== o.twin) break;
          const targets =
            e.kind === 'broadcast'
              ? nodes.map((_, i) => i).filter((i) => nodes[i] !== x)
              : nodes.map((n, i) => (n.machine.id === e.to ? i : -1)).filter((i) => i >= 0 && nodes[i] !== x);
          deliverTo(now, x, targets, e.msg);
          break;
        }
      }
    }
  };

  // Transactions: each node gets its own stream; a twin gets a different one (conflicting blocks).
  const tx = (i: number, k: number, twin: boolean) => sha256(`tx-${o.seed}-${i}-${k}-${twin ? 'twin' : ''}`).subarray(0, 16 + (k % 16));
  let txCounter = 0;
  const heightAtHeal: number[] = [];
  const TICK = 10;
  for (let now = 0; now < faultMs + healMs; now += TICK) {
    if (now === faultMs) for (const x of nodes) heightAtHeal.push(x.machine.state.height);
    // Crashes and restarts (a restart rebuilds the machine from what it persisted).
    for (const c of crashes) {
      const x = nodes[c.node]!;
      if (now === c.start - (c.start % TICK)) {
        x.down = true;
        trace.push(`${now} n${x.index} crash`);
      }
      if (now === c.end - (c.end % TICK) && x.down) {
        nodes[c.node] = { ...mk(x.index, x.twin, x.persisted, x.verified), down: false };
        trace.push(`${now} n${x.index} restart at height ${nodes[c.node]!.machine.state.height}`);
      }
    }
    for (const x of nodes) if (!x.down && random() < 0.3) x.machine.step({ kind: 'submit', txs: [tx(x.index, txCounter++, x.twin)] });
    // Deliver everything due before the next tick, in time order.
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    while (queue.length > 0 && queue[0]!.at < now + TICK) {
      const d = queue.shift()!;
      const x = nodes[d.to]!;
      if (x.down) continue;
      apply(x, x.machine.step({ kind: 'message', msg: d.msg, now: d.at }), d.at);
    }
    for (const x of nodes) if (!x.down) apply(x, x.machine.step({ kind: 'tick', now: now + TICK }), now + TICK);
  }
  for (const x of nodes) if (x.down) fail(`n${x.index} still down after the faults healed`);

  const heights = nodes.filter(honest).map((x) => x.machine.state.height);
  const healed = nodes.filter(honest).map((x) => heightAtHeal[nodes.indexOf(x)]!);
  // Liveness: after the faults heal every honest node is past where the furthest one was.
  const best = Math.max(...healed);
  heights.forEach((h, i) => {
    if (h < best + 3) fail(`no liveness after healing: n${i} at ${h}, the best node was at ${best} when the faults healed`);
  });
  return { heights, heightAtHeal, evidence, rejected, trace };
}
