/**
 * Builds the dashboard page with esbuild: src/dashboard/web/app.ts (with
 * uPlot and the stylesheets bundled in) and index.html into
 * dist/dashboard/web/, which `hashgrid dashboard` serves. Nothing is loaded
 * from elsewhere at run time: the page works offline.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src/dashboard/web');
const out = join(root, 'dist/dashboard/web');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(src, 'app.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
