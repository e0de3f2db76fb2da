/** Charts on uPlot (bundled into the page, no CDN): the grid's hashrate over time and per-row sparklines. */
import uPlot from 'uplot';
import { formatRate } from '../../core/format.js';

const AXIS = { stroke: '#8b98a9', grid: { stroke: '#263040', width: 1 }, ticks: { stroke: '#263040', width: 1 } };

/** A tiny line chart in a table cell: no axes, no legend, no cursor. */
export class Sparkline {
  private readonly plot: uPlot;
  constructor(parent: HTMLElement, color = '#4cc2ff', width = 140, height = 30) {
    this.plot = new uPlot(
      {
        width,
        height,
        class: 'spark',
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] } },
        series: [{}, { stroke: color, fill: `${color}33`, width: 1.5, points: { show: false } }],
      },
      [[], []],
      parent,
    );
  }

  set(values: number[]): void {
    this.plot.setData([values.map((_, i) => i), values]);
  }
}

/** The grid's total hashrate against wall-clock time, full panel width. */
export class RateChart {
  private readonly plot: uPlot;
  constructor(
    private readonly parent: HTMLElement,
    height = 170,
    /** Seconds shown: the window slides, so the axis reads the same all day (default 120). */
    private readonly spanSeconds = 120,
  ) {
    this.plot = new uPlot(
      {
        width: parent.clientWidth || 800,
        height,
        legend: { show: false },
        cursor: { y: false },
        scales: {
          x: { range: (_u, _min, max) => [max - this.spanSeconds, max] },
          y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.15] },
        },
        axes: [
          { ...AXIS, space: 90 },
          { ...AXIS, size: 80, values: (_u, ticks) => ticks.map((t) => formatRate(t)) },
        ],
        series: [{}, { label: 'hashrate', stroke: '#4cc2ff', fill: 'rgba(76,194,255,0.12)', width: 2, points: { show: false } }],
      },
      [[], []],
      parent,
    );
    new ResizeObserver(() => this.plot.setSize({ width: this.parent.clientWidth, height })).observe(parent);
  }

  /** `points`: [ms since the epoch, H/s], oldest first. */
  set(points: [number, number][]): void {
    this.plot.setData([points.map((p) => p[0] / 1000), points.map((p) => p[1])]);
  }
}
