/**
 * `hashgrid scan` and `hashgrid bench` as a user runs them: the built CLI in
 * a child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';
import { bitcoinHeaders } from '../helpers/vectors.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'hashgrid.js');
const hashgrid = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const genesis = bitcoinHeaders()[0]!;

describe('hashgrid scan', () => {
  it('mines the genesis header back to its nonce, as one JSON object', () => {
    const r = hashgrid('scan', '--header', genesis.header, '--start', String(genesis.nonce - 40_000), '--count', '65536', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(['backend', 'droppedHits', 'hashes', 'hits', 'seconds']);
    expect(out).toMatchObject({ backend: 'wasm', hashes: 65536, hits: [{ nonce: genesis.nonce, hash: genesis.hash }], droppedHits: 0 });
    expect(out.seconds).toBeGreaterThan(0);
  });

  it('uses --bits, --target and --difficulty as the target', () => {
    const window = ['--header', genesis.header, '--start', String(genesis.nonce - 100), '--count', '200', '--json'];
    const nonces = (...flags: string[]) => JSON.parse(hashgrid('scan', ...window, ...flags).stdout).hits.map((h: { nonce: number }) => h.nonce);
    expect(nonces('--bits', '1d00ffff')).toEqual([genesis.nonce]);
    expect(nonces('--target', '00000000ffff0000000000000000000000000000000000000000000000000000')).toEqual([genesis.nonce]);
    expect(nonces('--difficulty', '1')).toEqual([genesis.nonce]);
    // A target just below the genesis hash excludes it.
    expect(nonces('--target', '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26e')).toEqual([]);
    expect(nonces('--backend', 'reference')).toEqual([genesis.nonce]);
  });

  it('counts hits that did not fit the hit buffer, in --json and in the summary', () => {
    // Every nonce meets the largest target: one chunk of 8192 nonces holds fewer hits than that.
    const window = ['--header', genesis.header, '--count', '8192', '--threads', '1', '--target', 'f'.repeat(64)];
    const json = hashgrid('scan', ...window, '--json');
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.droppedHits).toBeGreaterThan(0);
    expect(out.hits.length + out.droppedHits).toBe(8192);
    // How many fit depends on how fast the main thread drains the workers' hit rings: a second run may split differently.
    const human = hashgrid('scan', ...window);
    const [, stored, dropped] = /^hits +(\d+) \(\+(\d+) not stored: hit buffer full\)$/m.exec(human.stdout) ?? [];
    expect(Number(dropped)).toBeGreaterThan(0);
    expect(Number(stored) + Number(dropped)).toBe(8192);
  });

  it('prints a readable summary without --json', () => {
    const r = hashgrid('scan', '--header', genesis.header, '--start', String(genesis.nonce - 10), '--count', '20', '--threads', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend +wasm \(1 lane\)$/m);
    expect(r.stdout).toMatch(/^hashes +20 in /m);
    expect(r.stdout).toContain(`nonce ${genesis.nonce}  hash ${genesis.hash}`);
  });

  const bad: [string, string[], RegExp][] = [
    ['a short header', ['--header', genesis.header.slice(2)], /--header: expected 160 hex characters \(80 bytes\), got 158/],
    ['a non-hex header', ['--header', `zz${genesis.header.slice(2)}`], /--header: expected hex characters/],
    ['a missing header', [], /--header: required/],
    ['a target above the maximum', ['--header', genesis.header, '--difficulty', '1e-12'], /--difficulty: .*above the maximum/],
    ['bits that overflow', ['--header', genesis.header, '--bits', '2300ffff'], /--bits: .*overflows 256 bits/],
    ['a zero target', ['--header', genesis.header, '--target', '0'.repeat(64)], /--target: expected a target from 1/],
    ['count 0', ['--header', genesis.header, '--count', '0'], /--count: expected an integer from 1 to 4294967296, got "0"/],
    ['count past 2^32', ['--header', genesis.header, '--start', '10', '--count', '4294967296'], /--count: expected an integer from 1 to 4294967286/],
    ['an unknown backend', ['--header', genesis.header, '--backend', 'quantum'], /--backend: expected one of auto, wasm, gpu, wasm-scalar, reference, got "quantum"/],
    ['two targets', ['--header', genesis.header, '--bits', '1d00ffff', '--difficulty', '2'], /--difficulty: give only one of/],
    ['an unknown flag', ['--header', genesis.header, '--frobnicate'], /--frobnicate: Unknown option/],
    ['threads 0', ['--header', genesis.header, '--threads', '0'], /--threads: expected an integer from 1/],
  ];
  it.each(bad)('rejects %s with exit code 2 and one line naming the flag', (_, args, message) => {
    const r = hashgrid('scan', ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hashgrid scan: /);
    expect(r.stderr).toMatch(message);
  });

  it('rejects an unknown command with exit code 2', () => {
    const r = hashgrid('mine-everything');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/command: expected one of up, node, (\w+, )*bench(, \w+)*, got "mine-everything"/);
  });
});

describe('hashgrid bench', () => {
  it('measures every path and writes its JSON', () => {
    const out = mkdtempSync(join(tmpdir(), 'hashgrid-bench-'));
    const r = hashgrid('bench', '--seconds', '1', '--threads', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hashgrid wasm SIMD engine');
    expect(r.stdout).toMatch(/job switch .* p50 [\d.]+ ms, p99 [\d.]+ ms/);
    const file = /wrote (.*\.json)/.exec(r.stdout)![1]!;
    const json = JSON.parse(readFileSync(file, 'utf8'));
    // The rows earlier versions wrote come first, in their order; then one row per GPU adapter.
    const names = json.rows.map((x: { name: string }) => x.name);
    expect(names.slice(0, 6)).toEqual([
      '@noble/hashes sha256(sha256(h))',
      'node:crypto createHash x2',
      'hash-wasm sha256 x2 (reused hasher)',
      'hashgrid wasm scalar engine',
      'hashgrid wasm SIMD engine',
      'hashgrid wasm SIMD engine',
    ]);
    const gpuRows = json.rows.filter((x: { adapter?: unknown }) => x.adapter);
    expect(gpuRows.length).toBe(json.profile.gpus.length);
    expect(gpuRows.length).toBeGreaterThan(0); // lavapipe at least
    for (const row of gpuRows) expect(row).toMatchObject({ dispatchSize: expect.any(Number), ratioToWasm: expect.any(Number) });
    for (const row of json.rows) expect(row.hashesPerSecond).toBeGreaterThan(0);
    expect(json.switchLatencyMs.samples).toBe(50);
    expect(json.profile).toMatchObject({ cores: expect.any(Number), cpuModel: expect.any(String), simd: expect.any(Array) });
    expect(r.stderr).toMatch(/^\[1\/\d+\] measuring/m);
    const svg = /wrote (.*\.svg)/.exec(r.stdout)![1]!;
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const compared = hashgrid('bench', '--compare', file, file);
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/^hashgrid wasm SIMD engine ×1 +\S+ [kM]H\/s +\S+ [kM]H\/s +1\.00$/m);
    expect(hashgrid('bench', '--compare', file).code).toBe(2);
  });
});
