/**
 * A tiny expression DAG for generating unrolled SHA-256 kernels.
 *
 * Every value carries a *binding time*: a literal known while generating, a
 * job value fixed for a whole job (midstate, the first three words of the
 * second block), or a nonce value that changes every hash. The builders fold
 * literals and keep job values apart from nonce values, so a kernel can hoist
 * all job work out of its hot loop. Identical expressions are shared
 * (hash-consing), which is how the common subexpressions of the message
 * schedule are computed once.
 *
 * The DAG knows nothing about the target language: `emit.ts` prints it for
 * AssemblyScript (scalar and v128) and WGSL.
 */

/** Binding time: 0 = literal, 1 = per job, 2 = per nonce. */
export type Stage = 0 | 1 | 2;

export type Node =
  | { readonly id: number; readonly kind: 'lit'; readonly stage: 0; readonly value: number }
  | { readonly id: number; readonly kind: 'input'; readonly stage: 1 | 2; readonly name: string }
  | {
      readonly id: number;
      readonly kind: 'op';
      readonly stage: Stage;
      readonly op: OpName;
      readonly args: readonly Node[];
      /** Shift or rotate amount, for `rotr` and `shr`. */
      readonly amount?: number;
    };

export type OpName = 'add' | 'xor' | 'and' | 'rotr' | 'shr' | 'ch';

const u32 = (x: number): number => x >>> 0;

function evaluate(op: OpName, v: number[], amount = 0): number {
  switch (op) {
    case 'add':
      return u32(v[0]! + v[1]!);
    case 'xor':
      return u32(v[0]! ^ v[1]!);
    case 'and':
      return u32(v[0]! & v[1]!);
    case 'rotr':
      return u32((v[0]! >>> amount) | (v[0]! << (32 - amount)));
    case 'shr':
      return v[0]! >>> amount;
    case 'ch':
      return u32((v[0]! & v[1]!) ^ (~v[0]! & v[2]!));
  }
}

/** Builds nodes with literal folding and structural sharing. */
export class Dag {
  private readonly nodes = new Map<string, Node>();
  private nextId = 0;

  lit(value: number): Node {
    return this.intern(`lit:${u32(value)}`, (id) => ({ id, kind: 'lit', stage: 0, value: u32(value) }));
  }

  input(name: string, stage: 1 | 2): Node {
    return this.intern(`in:${name}`, (id) => ({ id, kind: 'input', stage, name }));
  }

  private op(op: OpName, args: Node[], amount?: number): Node {
    if (args.every((a) => a.kind === 'lit')) {
      return this.lit(evaluate(op, args.map((a) => (a as { value: number }).value), amount));
    }
    const stage = Math.max(...args.map((a) => a.stage)) as Stage;
    const key = `${op}:${amount ?? ''}:${args.map((a) => a.id).join(',')}`;
    return this.intern(key, (id) => ({ id, kind: 'op', stage, op, args, amount }));
  }

  /**
   * Sum of terms mod 2^32, ordered so that the literal and job parts are
   * added first: they then form a job value that the kernel hoists.
   */
  sum(...terms: Node[]): Node {
    let literal = 0;
    const job: Node[] = [];
    const nonce: Node[] = [];
    for (const t of terms) {
      if (t.kind === 'lit') literal = u32(literal + t.value);
      else (t.stage === 1 ? job : nonce).push(t);
    }
    let acc: Node | undefined;
    for (const t of [...job, ...(literal !== 0 || terms.length === 0 ? [this.lit(literal)] : []), ...nonce]) {
      acc = acc === undefined ? t : this.op('add', [acc, t]);
    }
    return acc ?? this.lit(0);
  }

  xor(a: Node, b: Node): Node {
    if (a.kind === 'lit' && a.value === 0) return b;
    if (b.kind === 'lit' && b.value === 0) return a;
    return this.op('xor', [a, b]);
  }

  rotr(x: Node, amount: number): Node {
    return this.op('rotr', [x], amount);
  }

  shr(x: Node, amount: number): Node {
    return this.op('shr', [x], amount);
  }

  /** FIPS 180-4 §4.1.2 (4.2): Ch(x, y, z) = (x ∧ y) ⊕ (¬x ∧ z). */
  ch(x: Node, y: Node, z: Node): Node {
    return this.op('ch', [x, y, z]);
  }

  and(a: Node, b: Node): Node {
    return this.op('and', [a, b]);
  }

  /**
   * FIPS 180-4 §4.1.2 (4.3): Maj(x, y, z) = (x ∧ y) ⊕ (x ∧ z) ⊕ (y ∧ z),
   * written y ⊕ ((x ⊕ y) ∧ (y ⊕ z)). In SHA-256 round t+1 calls Maj(a', a, b)
   * right after round t called Maj(a, b, c): its y ⊕ z is round t's x ⊕ y, and
   * hash-consing computes it once, so Maj costs 3 operations instead of 4.
   */
  maj(x: Node, y: Node, z: Node): Node {
    return this.xor(y, this.and(this.xor(x, y), this.xor(y, z)));
  }

  private intern(key: string, make: (id: number) => Node): Node {
    let node = this.nodes.get(key);
    if (node === undefined) {
      node = make(this.nextId++);
      this.nodes.set(key, node);
    }
    return node;
  }
}

/** Evaluates a DAG node for concrete inputs; used to test the generator itself. */
export function evaluateNode(node: Node, inputs: Readonly<Record<string, number>>, memo = new Map<number, number>()): number {
  const known = memo.get(node.id);
  if (known !== undefined) return known;
  let value: number;
  if (node.kind === 'lit') value = node.value;
  else if (node.kind === 'input') {
    const v = inputs[node.name];
    if (v === undefined) throw new Error(`no value for input ${node.name}`);
    value = u32(v);
  } else {
    value = evaluate(
      node.op,
      node.args.map((a) => evaluateNode(a, inputs, memo)),
      node.amount,
    );
  }
  memo.set(node.id, value);
  return value;
}
