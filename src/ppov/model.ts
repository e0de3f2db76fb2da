/**
 * The PPoV throughput model (US 2020/0059369 A1, [0157]–[0180], equations
 * (1)–(12)): round time = computation + transmission, throughput = K·n_b per
 * round.
 *
 * Transmission follows equations (2)–(5) from the message sizes. Computation
 * follows the patent's fit to Table 1 (equations (6), (7), (9)), measured on an
 * Intel Xeon Silver 4114 with K = 10,000 transactions of 40 bytes, scaled by
 * the computing power `a` as equation (10) says. Two places where the printed
 * equations do not agree with themselves, and what this module does:
 *
 * - Equation (8) prints t_tran = (0.0001n³ + 0.0008n² + 0.3213n − 0.3214)/125.
 *   Equations (2)–(4) with the parameters of [0170] give 0.4013n − 0.4014 for
 *   the linear and constant terms; 0.3213n − 0.3214 is what T = 32 bytes gives
 *   (T·K = 320,000). This module evaluates (2)–(4) with the sizes it is given.
 * - Equation (10) prints two forms that differ by a factor 1/125. The first
 *   form, t'_comp = t_comp/a · [1 + Σ t_comp^i / (n·(t_comp^1 + t_comp^2 +
 *   t_comp^4))], is dimensionally consistent (seconds) and is the one used.
 */

/** Message sizes in bytes ([0161]–[0165]). */
export interface MessageSizes {
  /** M: message header. */
  M: number;
  /** H: block header. */
  H: number;
  /** T: one transaction. */
  T: number;
  /** H_v: vote header. */
  Hv: number;
  /** V_b: one block's vote. */
  Vb: number;
  /** H_r: voting-result header. */
  Hr: number;
  /** R_b: one block's voting result. */
  Rb: number;
}

/** The prototype's sizes ([0170]). */
export const PROTOTYPE_SIZES: MessageSizes = { M: 266, H: 692, T: 40, Hv: 400, Vb: 100, Hr: 170, Rb: 400 };
/** The prototype's K ([0170]). */
export const PROTOTYPE_K = 10_000;
/** 1 Gbps = 125 MB/s, in bytes per second ([0170]). */
export const GBPS = 125e6;

export interface ModelInput {
  /** Nodes; by default every node is both bookkeeper and consortium node ([0168]). */
  n: number;
  /** n_b, n_c, n_bc of [0161] (default n each). */
  nb?: number;
  nc?: number;
  nbc?: number;
  /** Each node's bandwidth in bytes per second (up and down alike). */
  band: number;
  /** Computing power used for consensus, in units of the prototype server ([0176]). */
  a: number;
  /** K: transactions per block. */
  K: number;
  sizes: MessageSizes;
}

/** Equations (2)–(5): transmission time per step and in total, seconds. */
export function transmission(p: ModelInput): { s1: number; s2: number; s3: number; total: number } {
  const nb = p.nb ?? p.n;
  const nc = p.nc ?? p.n;
  const nbc = p.nbc ?? p.n;
  const { M, H, T, Hv, Vb, Hr, Rb } = p.sizes;
  const s1 = ((nb + nc - nbc - 1) * (M + H + T * p.K)) / p.band; // (2)
  const s2 = (nc * (M + Hv + nb * Vb)) / p.band; // (3)
  const s3 = ((nb + nc - nbc - 1) * (M + Hr + nb * Rb + nc * (Hv + nb * Vb))) / p.band; // (4)
  return { s1, s2, s3, total: s1 + s2 + s3 }; // (5)
}

/** Equation (6): the fitted computation time of each step on the prototype, seconds. */
export function stepFit(n: number): [number, number, number, number] {
  return [0.0041 * n + 0.0174, 0.013 * n + 0.0229, 0.0012 * n * n - 0.0082 * n + 0.0415, 0.0052 * n + 0.0062];
}

/** Equation (7): the fitted consensus (round) time of Table 1, seconds. */
export const consensusFit = (n: number): number => (0.0312 * n ** 3 - 0.192 * n ** 2 + 2.0714 * n + 11.25) / 125;

/** Equation (8) as printed (see the module comment), seconds. */
export const transmissionFit = (n: number): number => (0.0001 * n ** 3 + 0.0008 * n ** 2 + 0.3213 * n - 0.3214) / 125;

/** Equation (9): t_comp = t_cons − t_tran on the prototype, seconds. */
export const computationFit = (n: number): number => (0.0311 * n ** 3 - 0.1928 * n ** 2 + 1.7501 * n + 11.5714) / 125;

/** Equation (10) (first form): the least computation time with computing power a, seconds. */
export function minComputation(n: number, a: number): number {
  const [t1, t2, t3, t4] = stepFit(n);
  return (computationFit(n) / a) * (1 + (t1 + t2 + t3 + t4) / (n * (t1 + t2 + t4)));
}

export interface Prediction {
  tTran: number;
  tComp: number;
  /** Equation (11): t'_cons = t'_comp + t_tran, seconds. */
  tCons: number;
  /** Equation (12): K·n_b / t'_cons, transactions per second. */
  throughput: number;
}

export function predict(p: ModelInput): Prediction {
  const tTran = transmission(p).total;
  const tComp = minComputation(p.n, p.a);
  const tCons = tComp + tTran;
  return { tTran, tComp, tCons, throughput: (p.K * (p.nb ?? p.n)) / tCons };
}

/** Table 1 of the patent: average times on server A over 10 rounds ([0170]). */
export const TABLE_1: readonly { n: number; s: [number, number, number, number]; round: number; throughput: number }[] = [
  { n: 3, s: [0.0311, 0.0642, 0.0255, 0.0217], round: 0.132, throughput: 223706 },
  { n: 4, s: [0.0326, 0.075, 0.0323, 0.0268], round: 0.15, throughput: 263583 },
  { n: 5, s: [0.0377, 0.0861, 0.0295, 0.0319], round: 0.163, throughput: 302719 },
  { n: 6, s: [0.0416, 0.0986, 0.0367, 0.0377], round: 0.189, throughput: 315861 },
  { n: 7, s: [0.047, 0.113, 0.0392, 0.0419], round: 0.217, throughput: 322992 },
  { n: 8, s: [0.0505, 0.13, 0.0552, 0.0477], round: 0.252, throughput: 314743 },
];

/** The computing power of Figures 7A–7C per node: a = factor × n ([0179]). */
export const FIGURE_7_CPUS = [
  { cpu: 'Xeon Silver 4114 (7A)', factor: 1 },
  { cpu: '2 × Xeon Silver 4116 (7B)', factor: 2.157 },
  { cpu: '4 × Xeon Gold 5118 (7C)', factor: 4.585 },
] as const;
/** The bandwidths of Figures 7D–7F, Gbps. */
export const FIGURE_7_BANDS_GBPS = [1, 8, 10] as const;
