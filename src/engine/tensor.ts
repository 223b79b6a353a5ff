// The Tensor and the define-by-run autograd tape. A tensor owns a contiguous row-major typed array;
// ops never alias storage (reshape copies nothing but also shares nothing mutable: kernels must not
// write into their inputs). Each op records a Node whose `backward` maps the output gradient to input
// gradients; `backward()` walks the tape in reverse topological order and accumulates into `.grad`.

import { type Data, type DType, alloc, dtypeOf, fmtShape, numel } from './dtype.js';
import { ShapeError } from './errors.js';
import { backend } from './backend.js';

/** One recorded op: its inputs and the function mapping dL/d(out) to dL/d(input_i) (null = no grad). */
export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly backward: (gradOut: Tensor) => (Tensor | null)[];
}

let gradEnabled = true;

/** Whether ops currently record the tape (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording the tape (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run `fn` with tape recording forced on (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export class Tensor {
  readonly data: Data;
  readonly shape: readonly number[];
  /** Leaf tensors with requiresGrad receive `.grad` after backward(). */
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** The op that produced this tensor (null for leaves and for tensors made under noGrad). */
  node: Node | null = null;
  /** Optional name (parameters carry their state-dict key) for error messages and debugging. */
  name?: string;

  constructor(data: Data, shape: readonly number[], requiresGrad = false) {
    if (numel(shape) !== data.length) {
      throw new ShapeError('tensor', `shape ${fmtShape(shape)} needs ${numel(shape)} elements, got ${data.length}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new ShapeError('item', `tensor of shape ${fmtShape(this.shape)} is not a scalar`);
    return this.data[0]!;
  }

  /** A new leaf sharing nothing with the tape: same values, no history, requiresGrad false. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  /** A deep copy of the values as a new leaf. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, false);
  }

  /** Values as a plain nested-free array (for tests and logging). */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Set requiresGrad in place and return this (torch's requires_grad_). */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** Whether gradients flow into this tensor (a leaf that requires grad, or the output of a recorded op). */
  get tracksGrad(): boolean {
    return this.requiresGrad || this.node !== null;
  }

  /**
   * Reverse-mode autodiff: dL/dx for every leaf x reached from this tensor, accumulated into x.grad.
   * `gradOut` defaults to 1 for a scalar. The tape of this graph is released afterwards.
   */
  backward(gradOut?: Tensor): void {
    if (!gradOut) {
      if (this.size !== 1) throw new ShapeError('backward', `implicit gradient needs a scalar, got shape ${fmtShape(this.shape)}`);
      const one = alloc(this.dtype, 1);
      one[0] = 1;
      gradOut = new Tensor(one, this.shape);
    } else if (gradOut.size !== this.size) {
      throw new ShapeError('backward', `gradient shape ${fmtShape(gradOut.shape)} does not match ${fmtShape(this.shape)}`);
    }
    // Topological order by iterative DFS (graphs can be thousands of nodes deep).
    const order: (Tensor | undefined)[] = [];
    const seen = new Set<Tensor>();
    const stack: [Tensor, number][] = [[this, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [t, i] = top;
      if (i === 0) {
        if (seen.has(t)) {
          stack.pop();
          continue;
        }
        seen.add(t);
      }
      const inputs = t.node ? t.node.inputs : [];
      if (i < inputs.length) {
        top[1] = i + 1;
        const child = inputs[i]!;
        if (!seen.has(child) && child.tracksGrad) stack.push([child, 0]);
      } else {
        stack.pop();
        order.push(t);
      }
    }
    seen.clear();
    const grads = new Map<Tensor, Tensor>();
    const pending = new PendingGrads();
    grads.set(this, gradOut);
    pending.hold(gradOut);
    noGrad(() => {
      for (let k = order.length - 1; k >= 0; k--) {
        const t = order[k]!;
        // Drop the tape as it is consumed (torch frees saved tensors the same way): once its backward
        // has run, nothing here refers to a node's saved activations, so the garbage collector can take
        // them during the rest of the pass instead of after it.
        order[k] = undefined;
        const node = t.node;
        t.node = null;
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        if (node) {
          const gin = node.backward(g);
          const inputs = node.inputs;
          for (let j = 0; j < inputs.length; j++) {
            const x = inputs[j]!;
            const gx = gin[j];
            if (!gx || !x.tracksGrad) continue;
            if (gx.size !== x.size) {
              throw new ShapeError(`${node.op} backward`, `gradient for input ${j} has shape ${fmtShape(gx.shape)}, input is ${fmtShape(x.shape)}`);
            }
            pending.hold(gx);
            const prev = grads.get(x);
            if (!prev) {
              grads.set(x, gx);
              continue;
            }
            const sum = accumulate(prev, gx);
            pending.hold(sum);
            pending.drop(prev);
            pending.drop(gx);
            grads.set(x, sum);
          }
        }
        if (t.requiresGrad && !t.node) {
          const gg = g.shape === t.shape ? g : new Tensor(g.data, t.shape);
          t.grad = t.grad ? accumulate(t.grad, gg) : new Tensor(gg.data.slice(), t.shape);
        }
        pending.drop(g);
      }
    });
  }
}

/**
 * Reference counts of the gradient temporaries of one backward pass, by buffer (views share one). When
 * the last pending gradient on a buffer is consumed, the buffer goes back to the backend's pool at once
 * (backends that pool; elsewhere the garbage collector takes it). Only buffers the backend allocated
 * during this pass qualify — never the caller's gradOut, a saved activation or a parameter — and
 * gradients that escape (leaf `.grad`) are copies or fresh sums, never these temporaries. Recycling
 * them while hot in cache, instead of whenever V8 next collects, is what keeps memory-bound kernels fast.
 */
class PendingGrads {
  private readonly count = new Map<ArrayBufferLike, number>();
  private readonly since: number;
  private readonly release: ((d: Data, since: number) => boolean) | undefined;
  constructor() {
    const be = backend();
    this.release = be.release?.bind(be);
    this.since = be.allocSerial ? be.allocSerial() : Infinity;
  }
  hold(g: Tensor): void {
    if (!this.release) return;
    const b = g.data.buffer;
    this.count.set(b, (this.count.get(b) ?? 0) + 1);
  }
  drop(g: Tensor): void {
    if (!this.release) return;
    const b = g.data.buffer;
    const n = (this.count.get(b) ?? 1) - 1;
    if (n > 0) {
      this.count.set(b, n);
      return;
    }
    this.count.delete(b);
    this.release(g.data, this.since);
  }
}

/** a + b elementwise into a fresh tensor (used only for gradient accumulation; shapes equal in size). */
function accumulate(a: Tensor, b: Tensor): Tensor {
  // Through the backend's add kernel: a JS loop here cost ~10% of a ResNet training step.
  const n = [a.size];
  return new Tensor(backend().binary('add', a.data, n, b.data, n, n), a.shape);
}

/**
 * Wrap kernel output as an op result. When grad mode is on and any input tracks gradients, record a
 * Node so backward() can call `backward(gradOut)`; otherwise the result is a plain leaf.
 */
export function result(op: string, data: Data, shape: readonly number[], inputs: readonly Tensor[], backward: (g: Tensor) => (Tensor | null)[]): Tensor {
  const t = new Tensor(data, shape);
  if (gradEnabled && inputs.some((x) => x.tracksGrad)) t.node = { op, inputs, backward };
  return t;
}

/** Make a tensor from a nested-free array of numbers and a shape (torch.tensor). */
export function tensor(values: ArrayLike<number> | Data, shape?: readonly number[], opts: { dtype?: DType; requiresGrad?: boolean } = {}): Tensor {
  const dtype = opts.dtype ?? (values instanceof Float64Array ? 'float64' : 'float32');
  const d = alloc(dtype, values.length);
  for (let i = 0; i < values.length; i++) d[i] = values[i]!;
  return new Tensor(d, shape ?? [values.length], opts.requiresGrad ?? false);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  const d = alloc(dtype, numel(shape));
  if (value !== 0) d.fill(value);
  return new Tensor(d, shape);
}

/** Zeros of a shape. */
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype);
}

/** Ones of a shape. */
export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

/** A scalar tensor. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return full([], value, dtype);
}
