/**
 * The throughput model (src/ppov/model.ts) against the patent's own numbers:
 * Table 1, equations (6)–(10) ([0170]–[0178]).
 */
import { describe, expect, it } from 'vitest';
import { computationFit, consensusFit, GBPS, minComputation, predict, PROTOTYPE_K, PROTOTYPE_SIZES, stepFit, TABLE_1, transmission, transmissionFit } from '../../src/ppov/model.js';
import { figure7Points, figure7Svg } from '../../src/ppov/plot.js';

const prototype = (n: number, sizes = PROTOTYPE_SIZES) => ({ n, band: GBPS, a: 1, K: PROTOTYPE_K, sizes });

describe('PPoV throughput model', () => {
  it('equation (7) reproduces the round times of Table 1 within 3 %', () => {
    for (const row of TABLE_1) expect(Math.abs(consensusFit(row.n) - row.round) / row.round).toBeLessThan(0.03);
  });

  it("equation (6)'s step fits reproduce Table 1's S1–S4 within 15 % each", () => {
    for (const row of TABLE_1) stepFit(row.n).forEach((t, i) => expect(Math.abs(t - row.s[i]!) / row.s[i]!).toBeLessThan(0.15));
  });

  it("Table 1's throughput is K·n over the round time (to the table's rounding)", () => {
    for (const row of TABLE_1) expect(Math.abs((PROTOTYPE_K * row.n) / row.round - row.throughput) / row.throughput).toBeLessThan(0.03);
  });

  it('equations (2)–(4) with T = 32 B give equation (8) exactly; with [0170]’s T = 40 B the linear term is 0.4013, not 0.3213', () => {
    for (const n of [3, 5, 8, 20, 100]) {
      // (8)'s coefficients are rounded to 4 decimals of MB: agree to 0.1 %.
      const t32 = transmission(prototype(n, { ...PROTOTYPE_SIZES, T: 32 })).total;
      expect(Math.abs(t32 - transmissionFit(n)) / t32).toBeLessThan(1e-3);
      const t40 = transmission(prototype(n)).total * 125; // in the units of (8): MB
      expect(t40).toBeCloseTo(1e-6 * (100 * n ** 3 + 800 * n ** 2 + 401_260 * n - 401_394), 6);
    }
  });

  it('equation (9) is (7) − (8), and (10) with a = 1 costs more than (9) (the leader’s extra work)', () => {
    for (const n of [3, 8, 30]) {
      expect(computationFit(n)).toBeCloseTo(consensusFit(n) - transmissionFit(n), 3);
      expect(minComputation(n, 1)).toBeGreaterThan(computationFit(n));
      expect(minComputation(n, 2)).toBeCloseTo(minComputation(n, 1) / 2, 12);
    }
  });

  it('throughput rises with computing power and bandwidth ([0180]); equation (12) is K·n / (11)', () => {
    const base = predict({ ...prototype(20), a: 20 });
    expect(base.throughput).toBeCloseTo((PROTOTYPE_K * 20) / (base.tComp + base.tTran), 6);
    expect(predict({ ...prototype(20), a: 40 }).throughput).toBeGreaterThan(base.throughput);
    expect(predict({ ...prototype(20), a: 20, band: 10 * GBPS }).throughput).toBeGreaterThan(base.throughput);
  });

  it('renders Figures 7A–7F as an SVG through vega-lite', async () => {
    const o = { K: PROTOTYPE_K, sizes: PROTOTYPE_SIZES, nodes: [3, 10, 20], bandsGbps: [1, 5, 10], nForBand: 10 };
    expect(figure7Points(o)).toHaveLength(3 * 3 + 3 * 3 * 3);
    const svg = await figure7Svg(o);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('throughput vs n, band = 8 Gbps');
    expect(svg).toContain('<path');
  });
});
