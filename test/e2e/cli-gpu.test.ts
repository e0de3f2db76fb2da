/**
 * The GPU paths of the CLI as a user runs them: `hashgrid scan --backend gpu`
 * and `auto`, and `hashgrid gpus`, on the machine's real WebGPU adapter
 * (lavapipe in CI).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
