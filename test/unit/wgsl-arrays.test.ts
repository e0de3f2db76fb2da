/**
 * The WGSL kernels index no private (function-scope) array with a run-time
 * value: on a GPU such an array is spilled to slow local memory, and
 * lavapipe's LLVM keeps only constant-indexed ones in registers. Only
 * storage buffers (the hit buffer, the batch kernel's messages and digests)
 * are indexed by run-time values, as they must be.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/engine/paths.js';

interface Access {
  root: string;
  index: string;
}

/** Every `root(.field)*[index]` in `source` (comments removed), nested brackets included. */
function arrayAccesses(source: string): Access[] {
  const text = source.replace(/\/\/.*$/gm, '');
  const out: Access[] = [];
  for (let open = text.indexOf('['); open >= 0; open = text.indexOf('[', open + 1)) {
    let depth = 0;
    let close = open;
    for (; close < text.length; close++) {
      if (text[close] === '[') depth++;
      else if (text[close] === ']' && --depth === 0) break;
    }
    // Walk back over earlier [..] groups and .fields to the variable the access starts from.
    let at = open - 1;
    for (;;) {
      while (at >= 0 && /\s/.test(text[at]!)) at--;
      if (text[at] !== ']') break;
      for (let d = 0; at >= 0; at--) {
        if (text[at] === ']') d++;
        else if (text[at] === '[' && --d === 0) break;
      }
      at--;
    }
    const path = /[\w.]*$/.exec(text.slice(0, at + 1))![0];
    out.push({ root: path.split('.')[0]!, index: text.slice(open + 1, close).trim() });
  }
  return out;
}

/** Accesses whose index is not a literal, except into module-scope storage buffers. */
function dynamicPrivateIndexes(source: string): Access[] {
  const storage = new Set([...source.matchAll(/var<storage[^>]*>\s+(\w+)/g)].map((m) => m[1]!));
  return arrayAccesses(source).filter((a) => !storage.has(a.root) && !/^\d+u?$/.test(a.index));
}

const shaders = readdirSync(join(PACKAGE_ROOT, 'shaders')).filter((f) => f.endsWith('.wgsl'));

describe('no dynamically indexed private arrays', () => {
  it('finds both kernels', () => {
    expect(shaders.sort()).toEqual(['sha256-batch.wgsl', 'sha256d-scan.wgsl']);
  });

  it.each(shaders)('%s: every private and uniform array index is a literal', (file) => {
    const source = readFileSync(join(PACKAGE_ROOT, 'shaders', file), 'utf8');
    // Not vacuous: the unrolled compression reads its state and block words by constant index.
    expect(arrayAccesses(source).filter((a) => a.root === 's' || a.root === 'x').length).toBeGreaterThan(50);
    expect(dynamicPrivateIndexes(source)).toEqual([]);
  });

  it('the check catches a run-time index, also inside another index and after a field', () => {
    const bad = `
      @group(0) @binding(1) var<storage, read_write> out: array<u32>;
      struct J { w: array<vec4<u32>, 2> }
      @group(0) @binding(0) var<uniform> job: J;
      fn f(s: array<u32, 8>, i: u32) -> u32 {
        let k = array<u32, 2>(1u, 2u);
        out[i] = s[3];           // storage: allowed
        return s[i] + k[s[0]] + job.w[1][i];
      }`;
    expect(dynamicPrivateIndexes(bad)).toEqual([
      { root: 's', index: 'i' },
      { root: 'k', index: 's[0]' },
      { root: 'job', index: 'i' },
    ]);
  });
});
