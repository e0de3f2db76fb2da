/**
 * Prints a kernel DAG as straight-line code in one target language.
 *
 * Job values (binding time 1) go to a prologue that runs once per call; nonce
 * values (binding time 2) go to the loop body. A value used more than once is
 * bound to a name; a value used once is written inline.
 */
import type { Node, OpName } from './dag.js';

export interface Dialect {
  lit(value: number): string;
  op(op: OpName, args: string[], amount?: number): string;
  /** A declaration of an immutable local. */
  decl(name: string, expr: string): string;
  /** How a job value is turned into a loop value (a vector splat), if at all. */
  lift?(expr: string): string;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/** AssemblyScript, one hash per u32. */
export const asScalar: Dialect = {
  lit: (v) => `<u32>${hex(v)}`,
  op: (op, [a, b, c], n) => {
    switch (op) {
      case 'add': return `${a} + ${b}`;
      case 'xor': return `(${a} ^ ${b})`;
      case 'and': return `(${a} & ${b})`;
      case 'rotr': return `rotr<u32>(${a}, ${n})`;
      case 'shr': return `(${a} >>> ${n})`;
      case 'ch': return `(${c} ^ (${a} & (${b} ^ ${c})))`;
    }
  },
  decl: (name, expr) => `const ${name}: u32 = ${expr};`,
};

/** AssemblyScript, four hashes per v128 (one per 32-bit lane). */
export const asVector: Dialect = {
  lit: (v) => `i32x4.splat(${v | 0})`,
  op: (op, [a, b, c], n) => {
    switch (op) {
      case 'add': return `i32x4.add(${a}, ${b})`;
      case 'xor': return `v128.xor(${a}, ${b})`;
      case 'and': return `v128.and(${a}, ${b})`;
      // v128 has no rotate: two shifts and an or.
      case 'rotr': return `v128.or(i32x4.shr_u(${a}, ${n}), i32x4.shl(${a}, ${32 - n!}))`;
      case 'shr': return `i32x4.shr_u(${a}, ${n})`;
      // bitselect(x, y, m) takes x where m is 1: Ch(e, f, g) = bitselect(f, g, e).
      case 'ch': return `v128.bitselect(${b}, ${c}, ${a})`;
    }
  },
  decl: (name, expr) => `const ${name}: v128 = ${expr};`,
  lift: (expr) => `i32x4.splat(${expr})`,
};

/** WGSL, one hash per u32. */
export const wgsl: Dialect = {
  lit: (v) => `${hex(v)}u`,
  op: (op, [a, b, c], n) => {
    switch (op) {
      case 'add': return `${a} + ${b}`;
      case 'xor': return `(${a} ^ ${b})`;
      case 'and': return `(${a} & ${b})`;
      // WGSL has no rotate builtin; drivers turn this pattern into one where the hardware has it.
      case 'rotr': return `((${a} >> ${n}u) | (${a} << ${32 - n!}u))`;
      case 'shr': return `(${a} >> ${n}u)`;
      case 'ch': return `(${c} ^ (${a} & (${b} ^ ${c})))`;
    }
  },
  decl: (name, expr) => `let ${name} = ${expr};`,
};

export interface EmitOptions {
  /** Dialect of the prologue (job values). */
  job: Dialect;
  /** Dialect of the loop body (nonce values). */
  loop: Dialect;
  /**
   * Independent copies of the loop body, interleaved statement by statement
   * for instruction-level parallelism. Each copy's names get its suffix, and
   * so do its nonce inputs (`nw` becomes `nw_a`, `nw_b`, ...).
   */
  copies?: readonly string[];
  /** Prefix of every generated name, so that several kernels can share one scope. */
  prefix?: string;
  /**
   * How a nonce input is read, when not as a local of its own name (say, a
   * load from memory). The expression is written at every use: re-reading
   * memory is cheaper than keeping a value live in a register.
   */
  input?: (name: string) => string | undefined;
  /**
   * Bind every nonce output to a name, so that a caller may assign the
   * outputs to the locals its inputs were read from, after the body.
   */
  nameOutputs?: boolean;
  /**
   * Statements to write right after a nonce value is bound to a name, such
   * as storing it to memory as soon as it is computed (single copy only).
   */
  after?: (node: Node, name: string) => string[];
}

export interface EmittedKernel {
  /** Statements computing job values, in order. */
  prologue: string[];
  /** Statements lifting job values into loop values (vector splats). */
  lifts: string[];
  /** Loop statements, copies interleaved. */
  body: string[];
  /** The expression of each output, per copy suffix. */
  outputs: Record<string, string[]>;
}

/** Prints the outputs' DAG: see the module comment. */
export function emitKernel(outputs: readonly Node[], options: EmitOptions): EmittedKernel {
  const order: Node[] = [];
  const uses = new Map<number, number>();
  const seen = new Set<number>();
  const visit = (n: Node) => {
    uses.set(n.id, (uses.get(n.id) ?? 0) + 1);
    if (seen.has(n.id)) return;
    seen.add(n.id);
    if (n.kind === 'op') n.args.forEach(visit);
    order.push(n);
  };
  outputs.forEach(visit);

  // A job value read by the loop is crossing into it: it needs a name (and a lift).
  const crossing = new Set<number>();
  for (const n of order) {
    if (n.kind === 'op' && n.stage === 2) for (const a of n.args) if (a.stage === 1) crossing.add(a.id);
  }
  for (const o of outputs) if (o.stage === 1) crossing.add(o.id);

  const isOutput = new Set(options.nameOutputs ? outputs.map((o) => o.id) : []);
  const named = (n: Node) =>
    n.kind === 'op' && ((uses.get(n.id) ?? 0) > 1 || crossing.has(n.id) || (n.stage === 2 && isOutput.has(n.id)));
  const prefix = options.prefix ?? '';

  const prologue: string[] = [];
  const lifts: string[] = [];
  const jobExpr = new Map<number, string>();
  for (const n of order) {
    if (n.stage !== 1) continue;
    const expr = n.kind === 'input' ? n.name : n.kind === 'op' ? options.job.op(n.op, n.args.map((a) => exprOf(a, jobExpr, options.job)), n.amount) : '';
    if (named(n)) {
      prologue.push(options.job.decl(`${prefix}j${n.id}`, expr));
      jobExpr.set(n.id, `${prefix}j${n.id}`);
    } else jobExpr.set(n.id, n.kind === 'input' ? expr : `(${expr})`);
    if (crossing.has(n.id) && options.loop.lift) {
      lifts.push(options.loop.decl(`${prefix}v${n.id}`, options.loop.lift(jobExpr.get(n.id)!)));
    }
  }
  const liftedName = (n: Node) => (options.loop.lift ? `${prefix}v${n.id}` : jobExpr.get(n.id)!);

  const copies = options.copies ?? [''];
  const perCopy = copies.map((suffix) => {
    const loopExpr = new Map<number, string>();
    const lines: string[] = [];
    const argExpr = (a: Node) =>
      a.stage === 1 ? liftedName(a) : a.kind === 'lit' ? options.loop.lit(a.value) : loopExpr.get(a.id)!;
    for (const n of order) {
      if (n.stage !== 2) continue;
      const expr =
        n.kind === 'input'
          ? (options.input?.(n.name) ?? `${n.name}${suffix && `_${suffix}`}`)
          : n.kind === 'op'
            ? options.loop.op(n.op, n.args.map(argExpr), n.amount)
            : '';
      if (named(n)) {
        const name = `${prefix}t${n.id}${suffix && `_${suffix}`}`;
        lines.push(options.loop.decl(name, expr));
        lines.push(...(options.after?.(n, name) ?? []));
        loopExpr.set(n.id, name);
      } else loopExpr.set(n.id, n.kind === 'input' ? expr : `(${expr})`);
    }
    return { lines, outputs: outputs.map(argExpr) };
  });

  const body: string[] = [];
  const longest = Math.max(...perCopy.map((c) => c.lines.length));
  for (let i = 0; i < longest; i++) for (const c of perCopy) if (i < c.lines.length) body.push(c.lines[i]!);
  return {
    prologue,
    lifts,
    body,
    outputs: Object.fromEntries(copies.map((s, i) => [s, perCopy[i]!.outputs])),
  };
}

function exprOf(n: Node, names: Map<number, string>, dialect: Dialect): string {
  return n.kind === 'lit' ? dialect.lit(n.value) : names.get(n.id)!;
}
