/**
 * npm run bench:scheduler — the scheduling policy at pool scale: time per
 * decision for 10 to 10,000 nodes and 1 to 1,000 sub-accounts; the real
 * scheduler step (bus, KV, center, one round trip per assignment) at
 * `--step-nodes` nodes; and, in the seeded simulation, the time until every
 * sub-account is up to standard against the ideal (Σ need ÷ capacity), with
 * one center and with three competing ones.
 *
 *   --step-nodes <n>   pool size for the real step (default 10000; 0 skips it)
 *   --quick            fewer simulations (one seed each, no 1,000-node pool)
 */
import { parseArgs } from 'node:util';
import { benchEnvironment, writeBenchResult } from '../src/cli/bench-report.js';
import { stepBench, type StepTimes } from './scheduler-step.js';
import { decide, type PolicyAccount, type PolicyNode } from '../src/scheduler/policy.js';
import { simulate } from '../src/scheduler/simulation.js';

function decisionTime(nodeCount: number, accountCount: number, mode: 'parallel' | 'sequential'): { p50: number; max: number } {
  const nodes: PolicyNode[] = Array.from({ length: nodeCount }, (_, i) => ({ id: `n${i}`, rate: (1 + (i % 20)) * 1e9, alive: i % 97 !== 0, failed: false, standby: i % 50 === 0 }));
  const accounts: PolicyAccount[] = Array.from({ length: accountCount }, (_, i) => ({
    key: `c${i % 3}/a${i}`,
    center: `c${i % 3}`,
    standard: (1 + (i % 7)) * 1e11,
    windowSeconds: 600,
    delivered: (i % 5) * 1e11,
    upToStandard: i % 4 === 0,
    priority: i,
  }));
  decide(nodes, accounts, { mode }); // warm up
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    decide(nodes, accounts, { mode });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: times[3]!, max: times[6]! };
}

const { values: flags } = parseArgs({ options: { 'step-nodes': { type: 'string', default: '10000' }, quick: { type: 'boolean', default: false } } });
const stepNodes = Number(flags['step-nodes']);

const rows: { nodes: number; subAccounts: number; mode: string; decisionMsP50: number; decisionMsMax: number }[] = [];
for (const nodes of [10, 100, 1000, 10_000]) {
  for (const subAccounts of [1, 10, 100, 1000]) {
    for (const mode of ['parallel', 'sequential'] as const) {
      const t = decisionTime(nodes, subAccounts, mode);
      rows.push({ nodes, subAccounts, mode, decisionMsP50: t.p50, decisionMsMax: t.max });
    }
  }
  process.stderr.write(`${nodes} nodes done\n`);
}

const sims: { seed: number; nodes: number; subAccounts: number; centers: number; mode: string; idealSeconds: number; allUpSeconds: number; ratio: number }[] = [];
const simSizes = flags.quick ? ([[10, 3], [100, 10]] as const) : ([[10, 3], [100, 10], [1000, 30]] as const);
for (const [nodes, subAccounts] of simSizes) {
  for (const seed of flags.quick ? [1] : [1, 2, 3]) {
    for (const [mode, centers] of [['parallel', 1], ['parallel', 3], ['sequential', 1]] as const) {
      const r = simulate(seed, mode, nodes, subAccounts, { horizon: 2400, ...(centers > 1 ? { centers } : {}) });
      const last = r.reached.size === subAccounts ? Math.max(...r.reached.values()) : Number.NaN;
      sims.push({ seed, nodes, subAccounts, centers, mode, idealSeconds: r.ideal, allUpSeconds: last, ratio: last / r.ideal });
    }
  }
}

const step: StepTimes | undefined = stepNodes > 0 ? await stepBench(stepNodes, 10) : undefined;

const result = { kind: 'scheduler', ...benchEnvironment(), command: `npm run bench:scheduler${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, decisions: rows, step, simulations: sims, target: { decisionMsAt10000Nodes: 50 } };
const file = writeBenchResult('scheduler', result);

console.log(`scheduling policy on ${result.cpu} (${result.cores} cores), node ${process.version}\n`);
console.log('decision time (ms, p50 of 7; max):');
console.log(`${'nodes'.padStart(6)} ${'sub-accts'.padStart(9)} ${'parallel'.padStart(16)} ${'sequential'.padStart(16)}`);
for (let i = 0; i < rows.length; i += 2) {
  const p = rows[i]!;
  const q = rows[i + 1]!;
  console.log(`${String(p.nodes).padStart(6)} ${String(p.subAccounts).padStart(9)} ${`${p.decisionMsP50.toFixed(2)} (${p.decisionMsMax.toFixed(2)})`.padStart(16)} ${`${q.decisionMsP50.toFixed(2)} (${q.decisionMsMax.toFixed(2)})`.padStart(16)}`);
}
console.log('\ntime until every sub-account is up to standard, simulated (ideal = Σ standard × window ÷ capacity):');
console.log(`${'nodes'.padStart(6)} ${'sub-accts'.padStart(9)} ${'centers'.padStart(7)} ${'mode'.padStart(11)} ${'ideal s'.padStart(8)} ${'all up s'.padStart(9)} ${'ratio'.padStart(6)}`);
for (const s of sims) console.log(`${String(s.nodes).padStart(6)} ${String(s.subAccounts).padStart(9)} ${String(s.centers).padStart(7)} ${s.mode.padStart(11)} ${s.idealSeconds.toFixed(0).padStart(8)} ${String(s.allUpSeconds).padStart(9)} ${s.ratio.toFixed(3).padStart(6)}`);
if (step) {
  console.log(`\nreal scheduler step, ${step.nodes} nodes, ${step.subAccounts} sub-accounts (nats-server, KV, center, one round trip per assignment):`);
  console.log(`  first step (authenticate, plan, ${step.assignments} assignments): ${step.firstStepMs.toFixed(0)} ms`);
  console.log(`  steady step (rotate time slices): p50 ${step.steadyStepMsP50.toFixed(1)} ms, max ${step.steadyStepMsMax.toFixed(1)} ms`);
}
console.log(`\ntarget: a decision for 10,000 nodes in < 50 ms\nwrote ${file}`);
