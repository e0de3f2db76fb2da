/**
 * The kernel generator: its DAG computes the real last digest word, and the
 * checked-in generated files are what it prints today.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { midstate, sha256d } from '../../src/core/sha256d.js';
import { evaluateNode } from '../../src/engine/codegen/dag.js';
import { generatedFiles } from '../../src/engine/codegen/files.js';
import { buildSha256dKernel, JOB_INPUTS, NONCE_WORD } from '../../src/engine/codegen/sha256d-kernel.js';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';

describe('sha256d kernel DAG', () => {
  const { h7 } = buildSha256dKernel();

  it('evaluates to digest word H7 of sha256d(header) for random headers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), (header) => {
        const view = new DataView(header.buffer, header.byteOffset, 80);
        const inputs: Record<string, number> = { [NONCE_WORD]: view.getUint32(76, false) };
        midstate(header).forEach((m, i) => (inputs[JOB_INPUTS.midstate[i]!] = m));
        JOB_INPUTS.tail.forEach((n, i) => (inputs[n] = view.getUint32(64 + 4 * i, false)));
        const digest = sha256d(header);
        expect(evaluateNode(h7, inputs)).toBe(new DataView(digest.buffer).getUint32(28, false));
      }),
      { numRuns: 200 },
    );
  });

  it('hoists job work out of the loop: the nonce-dependent part is smaller than two full compressions', () => {
    const nonceOps = new Set<number>();
    const walk = (n: typeof h7) => {
      if (n.kind !== 'op' || n.stage !== 2 || nonceOps.has(n.id)) return;
      nonceOps.add(n.id);
      n.args.forEach(walk);
    };
    walk(h7);
    // Two unfolded compressions are ~2 × (64 rounds × ~20 ops + 48 schedule words × ~10 ops) ≈ 3500 ops.
    expect(nonceOps.size).toBeLessThan(3300);
  });
});

describe('generated files', () => {
  it('are current (run `npm run build:kernels` after changing the generator)', () => {
    for (const [path, text] of Object.entries(generatedFiles())) {
      expect(readFileSync(join(PACKAGE_ROOT, path), 'utf8') === text, `${path} is stale`).toBe(true);
    }
  });
});
