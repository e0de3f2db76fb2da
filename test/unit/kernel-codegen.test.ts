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

  const nonceOps = (root: typeof h7) => {
    const seen = new Set<number>();
    const walk = (n: typeof h7) => {
      if (n.kind !== 'op' || n.stage !== 2 || seen.has(n.id)) return;
      seen.add(n.id);
      n.args.forEach(walk);
    };
    walk(root);
    return seen.size;
  };

  it('hoists job work out of the per-nonce loop', () => {
    // The same DAG with job inputs treated as per-nonce values: nothing hoisted.
    const unhoisted = nonceOps(buildSha256dKernel(2).h7);
    const hoisted = nonceOps(h7);
    // At least rounds 0..2 of the first hash (~25 ops each) and the job-only schedule terms leave the loop.
    expect(unhoisted - hoisted).toBeGreaterThanOrEqual(100);
  });
});

describe('generated files', () => {
  it('are current (run `npm run build:kernels` after changing the generator)', () => {
    for (const [path, text] of Object.entries(generatedFiles())) {
      expect(readFileSync(join(PACKAGE_ROOT, path), 'utf8') === text, `${path} is stale`).toBe(true);
    }
  });
});
