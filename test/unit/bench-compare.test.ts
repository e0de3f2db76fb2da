/**
 * `hashgrid bench --compare`: two machines' profiles side by side. GPU rows
 * line up by kind (hardware or software adapter, in order), not by adapter
 * name, which differs between any two machines.
 */
import { describe, expect, it } from 'vitest';
import { compareBench, type BenchRow, type HashBenchResult } from '../../src/cli/bench.js';

const gpu = (name: string, software: boolean, hashesPerSecond: number): BenchRow => ({
  name: `hashgrid gpu engine: ${name}`,
  threads: 1,
  hashesPerSecond,
  adapter: { index: 0, name, description: `${name} description`, software },
  dispatchSize: 1 << 20,
});
const wasm = (threads: number, hashesPerSecond: number): BenchRow => ({ name: 'hashgrid wasm SIMD engine', threads, hashesPerSecond });

function result(host: string, cpu: string, cores: number, rows: BenchRow[], gpus: { vendor: string; architecture: string; description: string }[]): HashBenchResult {
  return {
    kind: 'hash',
    date: '2026-12-01T00:00:00.000Z',
    host,
    cpu,
    cores,
    node: 'v20.20.2',
    seconds: 3,
    rows,
    switchLatencyMs: { samples: 50, p50: 1, p99: 2, max: 3 },
    profile: { hostname: host, cpuModel: cpu, cores, memoryBytes: 8 * 2 ** 30, simd: ['avx2'], gpus },
  };
}

const laptop = result('laptop', 'Intel Xeon', 2, [wasm(1, 5e6), gpu('llvmpipe (LLVM 15)', true, 21e6)], [
  { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15)' },
]);
const server = result('h200-box', 'AMD EPYC 9654', 16, [wasm(1, 6e6), gpu('NVIDIA H200', false, 5e9), gpu('NVIDIA H100', false, 4e9), gpu('llvmpipe (LLVM 17)', true, 90e6)], [
  { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' },
  { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' },
  { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 17)' },
]);
const row = (text: string, path: string) => text.split('\n').find((l) => l.startsWith(path));

describe('bench --compare', () => {
  it('lines GPU rows up by kind and rank, not by adapter name', () => {
    const text = compareBench(laptop, server);
    expect(row(text, 'hashgrid gpu engine, software adapter 1')).toMatch(/21\.00 MH\/s +90\.00 MH\/s +4\.29$/);
    expect(row(text, 'hashgrid gpu engine, hardware adapter 1')).toMatch(/— +5\.00 GH\/s +—$/);
    expect(row(text, 'hashgrid gpu engine, hardware adapter 2')).toMatch(/— +4\.00 GH\/s +—$/);
    expect(row(text, 'hashgrid wasm SIMD engine ×1')).toMatch(/5\.00 MH\/s +6\.00 MH\/s +1\.20$/);
    // No row per adapter name: names differ on every machine.
    expect(text).not.toMatch(/engine: NVIDIA/);
  });

  it('shows both hardware profiles side by side, every GPU of either', () => {
    const text = compareBench(laptop, server);
    expect(row(text, 'host')).toMatch(/^host +laptop +h200-box$/);
    expect(row(text, 'cores')).toMatch(/^cores +2 +16$/);
    expect(row(text, 'gpu 1')).toMatch(/^gpu 1 +mesa software \(llvmpipe \(LLVM 15\)\) +nvidia hopper \(NVIDIA H200\)$/);
    expect(row(text, 'gpu 3')).toMatch(/^gpu 3 +— +mesa software \(llvmpipe \(LLVM 17\)\)$/);
    // Labels in one order, GPUs together; b's column starts at the same place on every line.
    const lines = text.split('\n').slice(0, text.split('\n').indexOf(''));
    expect(lines.map((l) => l.split(/\s{2,}/)[0])).toEqual(['', 'host', 'cpu', 'cores', 'memory', 'simd', 'gpu 1', 'gpu 2', 'gpu 3', 'node', 'date']);
    const bColumn = lines[0]!.length - 1;
    expect(lines[1]!.slice(bColumn)).toBe('h200-box');
    expect(lines[8]!.slice(bColumn)).toBe('mesa software (llvmpipe (LLVM 17))');
  });
});
