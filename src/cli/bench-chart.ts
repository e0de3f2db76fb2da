/**
 * The benchmark's pictures, drawn by vega-lite + vega headlessly as SVG: the
 * wasm threads scaling curve (with each GPU adapter as a level line) and one
 * bar per measured path.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartRow {
  name: string;
  threads: number;
  hashesPerSecond: number;
}

/** Renders the two charts side by side as one SVG document. */
export async function benchSvg(title: string, rows: readonly ChartRow[], curve: readonly ChartRow[], gpus: readonly ChartRow[]): Promise<string> {
  const mhs = (r: ChartRow) => Math.round(r.hashesPerSecond / 1e4) / 100;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    hconcat: [
      {
        title: 'wasm SIMD engine: threads scaling (lines: GPU adapters)',
        width: 320,
        height: 240,
        layer: [
          {
            data: { values: curve.map((r) => ({ threads: r.threads, mhs: mhs(r) })) },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'threads', type: 'quantitative', title: 'threads', axis: { tickMinStep: 1 } },
              y: { field: 'mhs', type: 'quantitative', title: 'MH/s' },
            },
          },
          {
            data: { values: gpus.map((r) => ({ name: r.name, mhs: mhs(r) })) },
            mark: { type: 'rule', strokeDash: [4, 3], color: '#d62728' },
            encoding: { y: { field: 'mhs', type: 'quantitative' }, tooltip: { field: 'name' } },
          },
        ],
      },
      {
        title: 'sha256d rate per path',
        width: 320,
        data: { values: rows.map((r) => ({ path: `${r.name} ×${r.threads}`, mhs: mhs(r) })) },
        mark: 'bar',
        encoding: {
          y: { field: 'path', type: 'nominal', sort: null, title: null, axis: { labelLimit: 420 } },
          x: { field: 'mhs', type: 'quantitative', title: 'MH/s' },
        },
      },
    ],
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
