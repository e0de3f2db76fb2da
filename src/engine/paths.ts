/**
 * Where the build outputs live. Source (run by vitest and tsx) and compiled
 * code (dist/) sit at the same depth below the package root, so both find
 * the root by walking up to package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, HashgridError } from '../core/errors.js';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('hashgrid: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = findRoot();

/** A build output, or a BACKEND_UNAVAILABLE error telling how to build it. */
export function builtFile(relative: string): string {
  const path = join(PACKAGE_ROOT, relative);
  if (!existsSync(path)) {
    throw new HashgridError(ErrorCode.BACKEND_UNAVAILABLE, `${relative} is missing: run \`npm run build\` (or scripts/setup.sh) first`, {
      path,
    });
  }
  return path;
}

export const WASM_MODULE = 'build/hashgrid.wasm';
export const WASM_WORKER = 'dist/engine/wasm/worker.js';
