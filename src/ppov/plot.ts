/**
 * Plots of the throughput model like Figures 7A–7F of the patent ([0179]):
 * throughput against the bandwidth for each CPU (7A–7C) and against the
 * number of nodes for each bandwidth (7D–7F), rendered to SVG headlessly by
 * vega-lite and vega.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FIGURE_7_BANDS_GBPS, FIGURE_7_CPUS, GBPS, predict, type MessageSizes } from './model.js';

export interface PlotOptions {
  K: number;
  sizes: MessageSizes;
  /** Node counts on the x axis of the "against n" panels. */
  nodes: readonly number[];
  /** Bandwidths (Gbps) on the x axis of the "against band" panels. */
  bandsGbps: readonly number[];
  /** n of the "against band" panels. */
  nForBand: number;
}

export interface PlotPoint {
  panel: string;
  series: string;
  x: number;
  throughput: number;
}

/** The data of the six panels: computing power a = factor·n (one node per server, [0179]). */
export function figure7Points(o: PlotOptions): PlotPoint[] {
  const points: PlotPoint[] = [];
  for (const { cpu, factor } of FIGURE_7_CPUS) {
    for (const g of o.bandsGbps) {
      const n = o.nForBand;
      points.push({ panel: `throughput vs band, n = ${n}`, series: cpu, x: g, throughput: predict({ n, band: g * GBPS, a: factor * n, K: o.K, sizes: o.sizes }).throughput });
    }
    for (const g of FIGURE_7_BANDS_GBPS) {
      for (const n of o.nodes) {
        points.push({ panel: `throughput vs n, band = ${g} Gbps`, series: cpu, x: n, throughput: predict({ n, band: g * GBPS, a: factor * n, K: o.K, sizes: o.sizes }).throughput });
      }
    }
  }
  return points;
}

/** An SVG of figure7Points (vega-lite spec compiled to vega, rendered without a browser). */
export async function figure7Svg(o: PlotOptions): Promise<string> {
  const points = figure7Points(o);
  const panel = (name: string, xTitle: string) => ({
    title: name,
    width: 260,
    height: 200,
    transform: [{ filter: { field: 'panel', equal: name } }],
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: xTitle },
      y: { field: 'throughput', type: 'quantitative' as const, title: 'throughput (tx/s)' },
      color: { field: 'series', type: 'nominal' as const, title: 'CPU (a = factor × n)' },
    },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `PPoV throughput upper limit, equation (12): K = ${o.K}, T = ${o.sizes.T} B`,
    data: { values: points },
    vconcat: [
      { hconcat: [panel(`throughput vs band, n = ${o.nForBand}`, 'band (Gbps)')] },
      { hconcat: FIGURE_7_BANDS_GBPS.map((g) => panel(`throughput vs n, band = ${g} Gbps`, 'nodes n')) },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
