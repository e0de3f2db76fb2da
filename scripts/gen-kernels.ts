/**
 * Writes the generated kernels from the one DAG in src/engine/codegen:
 *   assembly/constants.generated.ts   SHA-256 constants for the hand-written AssemblyScript
 *   assembly/scan.generated.ts        sha256d nonce scan, scalar and v128 (four nonces per vector;
 *                                     two interleaved vectors measured slower: register spills)
 *
 * The outputs are checked in so a reader sees the kernels; a unit test fails
 * when they are stale. Run: npm run build:kernels
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../src/engine/codegen/files.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
let stale = 0;
for (const [path, text] of Object.entries(generatedFiles())) {
  const full = root + path;
  let current: string | undefined;
  try {
    current = readFileSync(full, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) {
    console.error(`stale: ${path} (run npm run build:kernels)`);
    stale++;
  } else {
    writeFileSync(full, text);
    console.error(`wrote ${path}`);
  }
}
process.exitCode = stale ? 1 : 0;
