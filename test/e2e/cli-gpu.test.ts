/**
 * The GPU paths of the CLI as a user runs them: `hashgrid scan --backend gpu`
 * and `auto`, and `hashgrid gpus`, on the machine's real WebGPU adapter
 * (lavapipe in CI).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');
const hashgrid = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const genesis = bitcoinHeaders()[0]!;
const window = ['--header', genesis.header, '--start', String(genesis.nonce - 500_000), '--count', '1000000'];

describe('hashgrid scan --backend gpu', () => {
  it('mines the genesis header back to its nonce, as one JSON object', () => {
    const r = hashgrid(['scan', ...window, '--backend', 'gpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ backend: 'gpu', hashes: 1_000_000, hits: [{ nonce: genesis.nonce, hash: genesis.hash }] });
  });

  it('prints the human summary, and takes the adapter from --gpu or HASHGRID_GPU', () => {
    const r = hashgrid(['scan', ...window, '--backend', 'gpu', '--gpu', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend +gpu \(2 lanes\)$/m);
    expect(r.stdout).toContain(`nonce ${genesis.nonce}  hash ${genesis.hash}`);
    const bad = hashgrid(['scan', ...window, '--backend', 'gpu'], { HASHGRID_GPU: 'no-such-adapter' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/GPU_UNAVAILABLE: gpu: no adapter matches "no-such-adapter"; adapters: 0 /);
  });

  it('auto measures the candidates once, caches the choice in the state dir, and finds the nonce', () => {
    const state = mkdtempSync(join(tmpdir(), 'hashgrid-auto-'));
    const first = hashgrid(['scan', ...window, '--backend', 'auto'], { HASHGRID_STATE_DIR: state });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/auto: measuring wasm×\d+ \.\.\./);
    expect(first.stderr).toMatch(/auto: measuring gpu\[0\] \.\.\./);
    expect(first.stdout).toContain(`nonce ${genesis.nonce}`);
    expect(existsSync(join(state, 'calibration.json'))).toBe(true);
    const cached = Object.values(JSON.parse(readFileSync(join(state, 'calibration.json'), 'utf8')))[0] as { measurements: unknown[] };
    expect(cached.measurements.length).toBeGreaterThanOrEqual(2);
    const second = hashgrid(['scan', ...window, '--backend', 'auto'], { HASHGRID_STATE_DIR: state });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/measuring/);
    expect(second.stdout).toContain(`nonce ${genesis.nonce}`);
  });
});

describe('--gpu on node and up', () => {
  // Nothing listens on port 1: a flag that gets past validation would fail to connect (exit 1), not exit 2.
  const cases: [string, string[], RegExp][] = [
    ['node, an adapter that does not exist', ['node', '--nats', 'nats://127.0.0.1:1', '--gpu', 'no-such-adapter'], /^hashgrid node: --gpu: no adapter matches "no-such-adapter"; adapters: 0 /],
    ['node, an index past the list', ['node', '--nats', 'nats://127.0.0.1:1', '--gpu', '99'], /^hashgrid node: --gpu: no adapter matches "99"/],
    ['node, an empty value', ['node', '--nats', 'nats://127.0.0.1:1', '--gpu', ''], /^hashgrid node: --gpu: expected an adapter index or name/],
    ['node, with another backend', ['node', '--nats', 'nats://127.0.0.1:1', '--backend', 'wasm', '--gpu', '0'], /^hashgrid node: --gpu: picks the adapter of --backend gpu, but --backend is wasm/],
    ['up, an adapter that does not exist', ['up', '--gpu', 'no-such-adapter'], /^hashgrid up: --gpu: no adapter matches "no-such-adapter"/],
  ];
  it.each(cases)('refuses %s with exit code 2 and one line', (_, args, message) => {
    const r = hashgrid(args);
    expect(r.code, r.stderr).toBe(2);
    // Dawn itself prints warnings about its limits on stderr when it opens an adapter: not ours.
    const lines = r.stderr.trim().split('\n').filter((l) => !/^Warning: .* artificially reduced/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('node takes a valid --gpu and goes on to connect', () => {
    const r = hashgrid(['node', '--nats', 'nats://127.0.0.1:1', '--gpu', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/--gpu/);
  });

  it('documents --gpu in the help of node and up', () => {
    for (const command of ['node', 'up']) expect(hashgrid([command, '--help']).stdout).toMatch(/^ +--gpu <index\|name> +GPU adapter for gpu/m);
  });
});

describe('npm run bench:gpu', () => {
  it('prints the table and writes gpu-<host>.json with every adapter row and the wasm ratio', () => {
    const out = mkdtempSync(join(tmpdir(), 'hashgrid-bench-gpu-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(PACKAGE_ROOT, 'bench', 'gpu.ts'), '--seconds', '1', '--sizes', '65536', '--out', out], {
      encoding: 'utf8',
      timeout: 180_000,
      cwd: PACKAGE_ROOT,
    });
    expect(r.status, r.stderr).toBe(0);
    const file = join(out, `gpu-${hostname()}.json`);
    expect(r.stdout).toContain(`wrote ${file}`);
    expect(r.stdout).toMatch(/^load average [\d.]+ → [\d.]+ on \d+ cores; /m);
    const result = JSON.parse(readFileSync(file, 'utf8'));
    expect(result).toMatchObject({ kind: 'gpu', host: hostname(), cores: expect.any(Number), wasm: { hashesPerSecond: expect.any(Number) }, loadAverage: { before: expect.any(Number), after: expect.any(Number) } });
    expect(result.wasm.hashesPerSecond).toBeGreaterThan(0);
    // Per adapter: tuned and paced, tuned and polling, and the one fixed size asked for.
    expect(result.gpus.length % 3).toBe(0);
    expect(result.gpus.length).toBeGreaterThan(0);
    expect(result.gpus.slice(0, 3).map((g: { tuned: boolean; paced: boolean }) => [g.tuned, g.paced])).toEqual([[true, true], [true, false], [false, true]]);
    expect(result.gpus[2].dispatchSize).toBe(65536);
    for (const g of result.gpus) {
      expect(g.hashesPerSecond).toBeGreaterThan(0);
      expect(g.ratioToWasm).toBeCloseTo(g.hashesPerSecond / result.wasm.hashesPerSecond, 9);
      expect(r.stdout).toContain(`gpu[${g.adapter.index}] ${g.adapter.name}, `);
    }
  }, 200_000);
});

describe('hashgrid gpus', () => {
  it('lists adapters with vendor, architecture and description', () => {
    const r = hashgrid(['gpus', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const adapters = JSON.parse(r.stdout);
    expect(adapters.length).toBeGreaterThan(0);
    expect(adapters[0]).toMatchObject({ index: 0, vendor: expect.any(String), architecture: expect.any(String), description: expect.any(String) });
    const table = hashgrid(['gpus']);
    expect(table.stdout).toMatch(/^index +vendor +architecture +kind +description$/m);
  });
});
