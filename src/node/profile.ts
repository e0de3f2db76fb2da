/**
 * The hardware profile a node reports: what the machine is, so hashrates can
 * be compared per hardware. Reads /proc/cpuinfo where there is one.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, totalmem } from 'node:os';
import type { HardwareProfile } from '../bus/schemas.js';

/** CPU flags that matter for hashing, in the order operators look for them. */
const HASHING_FLAGS = ['sse4_1', 'ssse3', 'avx', 'avx2', 'avx512f', 'avx512vl', 'sha_ni', 'neon', 'asimd', 'sha2'];

export function cpuFlags(): string[] {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(flags|Features)\s*:\s*(.*)$/m.exec(info)?.[2] ?? '';
    const flags = new Set(line.split(/\s+/));
    return HASHING_FLAGS.filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

export function hardwareProfile(gpus: HardwareProfile['gpus'] = []): HardwareProfile {
  return {
    hostname: hostname(),
    cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    simd: cpuFlags(),
    gpus,
  };
}
