/**
 * Elementwise ops: each forward calls one kernel, and its backward rule sits next to it
 * as a tensor expression with a one-line math comment.
 */
import { type BinaryOp, type UnaryOp, backend } from '../backend/backend.js';
import { record } from '../autograd/node.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { type DType, isFloat } from '../tensor/dtype.js';
import { broadcastShapes, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Scalar, type TensorLike, asTensor, broadcastView, resultType, uninitialized } from './util.js';

// ---------------------------------------------------------------- kernels without autograd

/** Floating ops on integer input compute in float32, as PyTorch does. */
const floatOut = (d: DType): DType => (isFloat(d) ? d : 'float32');

function runUnary(op: UnaryOp, x: Tensor, dtype: DType): Tensor {
  const out = uninitialized(x.shape, dtype);
  backend().unary(op, x, out.data);
  return out;
}

function runBinary(op: BinaryOp, a: TensorLike, b: TensorLike, dtype: DType, outDtype: DType = dtype): Tensor {
  const ta = asTensor(a, dtype), tb = asTensor(b, dtype);
  const shape = broadcastShapes(ta.shape, tb.shape, op);
  const out = uninitialized(shape, outDtype);
  backend().binary(op, broadcastView(ta, shape), broadcastView(tb, shape), out.data);
  return out;
}

const needsGrad = (x: TensorLike): boolean => x instanceof Tensor && x.requiresGrad;

function checkOperand(x: unknown, op: string, arg: string): void {
  if (!(x instanceof Tensor) && typeof x !== 'number' && typeof x !== 'boolean') {
    throw new TypeError(`${op}: argument '${arg}' must be a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
  }
}

// ---------------------------------------------------------------- unary

export function neg(x: Tensor): Tensor {
  return record(runUnary('neg', x, x.dtype), 'NegBackward', [x], (g) => [neg(g)]); // d(-x) = -1
}

export function exp(x: Tensor): Tensor {
  const y = runUnary('exp', x, floatOut(x.dtype));
  return record(y, 'ExpBackward', [x], (g) => [mul(g, y)]); // d eˣ = eˣ
}

export function log(x: Tensor): Tensor {
  return record(runUnary('log', x, floatOut(x.dtype)), 'LogBackward', [x], (g) => [div(g, x)]); // d ln x = 1/x
}

export function sqrt(x: Tensor): Tensor {
  const y = runUnary('sqrt', x, floatOut(x.dtype));
  return record(y, 'SqrtBackward', [x], (g) => [div(g, mul(y, 2))]); // d √x = 1/(2√x)
}

export function abs(x: Tensor): Tensor {
  return record(runUnary('abs', x, x.dtype), 'AbsBackward', [x], (g) => [mul(g, sign(x))]); // d|x| = sign(x)
}

export function sigmoid(x: Tensor): Tensor {
  const y = runUnary('sigmoid', x, floatOut(x.dtype));
  return record(y, 'SigmoidBackward', [x], (g) => [fusedActivationGrad('sigmoid', y, g) ?? mul(g, mul(y, rsub(1, y)))]); // dσ = σ(1−σ)
}

export function tanh(x: Tensor): Tensor {
  const y = runUnary('tanh', x, floatOut(x.dtype));
  return record(y, 'TanhBackward', [x], (g) => [fusedActivationGrad('tanh', y, g) ?? mul(g, rsub(1, mul(y, y)))]); // d tanh = 1 − tanh²
}

/**
 * The same gradient in one kernel when the backend has one (backend.activationGrad), else null. Never while the
 * backward pass is being recorded (createGraph): double backward needs the tensor expression.
 */
function fusedActivationGrad(op: 'sigmoid' | 'tanh', y: Tensor, g: Tensor): Tensor | null {
  const b = backend();
  if (!b.activationGrad || isGradEnabled() || g.dtype !== y.dtype || !shapesEqual(g.shape, y.shape)) return null;
  const out = uninitialized(y.shape, y.dtype);
  return b.activationGrad(op, y, g, out.data) ? out : null;
}

export function relu(x: Tensor): Tensor {
  const y = runUnary('relu', x, x.dtype);
  // d relu = [x > 0] = [y > 0]: from the output, so the input need not be kept
  return record(y, 'ReluBackward', [x], (g) => [fusedReluGrad(y, g) ?? where(gt(y, 0), g, 0)]);
}

/** ReLU's gradient in one kernel (backend.reluGrad) when there is one and no graph is being recorded, else null. */
function fusedReluGrad(y: Tensor, g: Tensor): Tensor | null {
  const b = backend();
  if (!b.reluGrad || isGradEnabled() || g.dtype !== y.dtype || !shapesEqual(g.shape, y.shape)) return null;
  const out = uninitialized(y.shape, y.dtype);
  return b.reluGrad(y, g, out.data) ? out : null;
}

export function reciprocal(x: Tensor): Tensor {
  const y = runUnary('reciprocal', x, floatOut(x.dtype));
  return record(y, 'ReciprocalBackward', [x], (g) => [neg(mul(g, mul(y, y)))]); // d(1/x) = −1/x²
}

export function sin(x: Tensor): Tensor {
  return record(runUnary('sin', x, floatOut(x.dtype)), 'SinBackward', [x], (g) => [mul(g, cos(x))]); // d sin = cos
}

export function cos(x: Tensor): Tensor {
  return record(runUnary('cos', x, floatOut(x.dtype)), 'CosBackward', [x], (g) => [neg(mul(g, sin(x)))]); // d cos = −sin
}

export function erf(x: Tensor): Tensor {
  // d erf(x) = 2/√π · e^(−x²)
  return record(runUnary('erf', x, floatOut(x.dtype)), 'ErfBackward', [x], (g) => [mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);
}

const zeroGrad = () => (g: Tensor) => [mul(g, 0)]; // piecewise constant: derivative 0

export function sign(x: Tensor): Tensor {
  return record(runUnary('sign', x, x.dtype), 'SignBackward', [x], zeroGrad());
}
export function floor(x: Tensor): Tensor {
  return record(runUnary('floor', x, x.dtype), 'FloorBackward', [x], zeroGrad());
}
export function ceil(x: Tensor): Tensor {
  return record(runUnary('ceil', x, x.dtype), 'CeilBackward', [x], zeroGrad());
}
export function round(x: Tensor): Tensor {
  return record(runUnary('round', x, x.dtype), 'RoundBackward', [x], zeroGrad());
}

export const isnan = (x: Tensor): Tensor => runUnary('isnan', x, 'bool');
export const logicalNot = (x: Tensor): Tensor => runUnary('not', x, 'bool');

// ---------------------------------------------------------------- binary arithmetic

export function add(a: TensorLike, b: TensorLike): Tensor {
  checkOperand(a, 'add', 'input'); checkOperand(b, 'add', 'other');
  return record(runBinary('add', a, b, resultType(a, b)), 'AddBackward', [a, b], (g) => [g, g]); // ∂(a+b) = (1, 1)
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  checkOperand(a, 'sub', 'input'); checkOperand(b, 'sub', 'other');
  // ∂(a−b) = (1, −1)
  return record(runBinary('sub', a, b, resultType(a, b)), 'SubBackward', [a, b], (g) => [g, needsGrad(b) ? neg(g) : null]);
}

/** c − x, for backward rules such as 1 − σ. */
export const rsub = (c: Scalar, x: Tensor): Tensor => sub(c, x);

export function mul(a: TensorLike, b: TensorLike): Tensor {
  checkOperand(a, 'mul', 'input'); checkOperand(b, 'mul', 'other');
  // ∂(ab) = (b, a)
  return record(runBinary('mul', a, b, resultType(a, b)), 'MulBackward', [a, b], (g) => [
    needsGrad(a) ? mul(g, b) : null,
    needsGrad(b) ? mul(g, a) : null,
  ]);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  checkOperand(a, 'div', 'input'); checkOperand(b, 'div', 'other');
  const dtype = floatOut(resultType(a, b));
  // ∂(a/b) = (1/b, −a/b²)
  return record(runBinary('div', a, b, dtype), 'DivBackward', [a, b], (g) => [
    needsGrad(a) ? div(g, b) : null,
    needsGrad(b) ? neg(div(mul(g, a), mul(b, b))) : null,
  ]);
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  checkOperand(a, 'pow', 'input'); checkOperand(b, 'pow', 'exponent');
  const y = runBinary('pow', a, b, resultType(a, b));
  return record(y, 'PowBackward', [a, b], (g) => [
    // ∂aᵇ/∂a = b·aᵇ⁻¹, 0 where b = 0 (as PyTorch, so that 0⁰ gives 0, not 0·∞)
    a instanceof Tensor && a.requiresGrad ? powBaseGrad(g, a, b) : null,
    // ∂aᵇ/∂b = aᵇ·ln a, 0 where a = 0 and b ≥ 0 (as PyTorch)
    b instanceof Tensor && b.requiresGrad ? where(logicalAnd(eq(a, 0), ge(b, 0)), 0, mul(g, mul(y, log(asTensor(a, b.dtype))))) : null,
  ]);
}

function powBaseGrad(g: Tensor, a: Tensor, b: TensorLike): Tensor {
  if (typeof b !== 'number') return where(eq(b, 0), 0, mul(g, mul(b, pow(a, sub(b, 1)))));
  return b === 0 ? mul(g, 0) : mul(g, mul(b, pow(a, b - 1)));
}

function checkOperandPair(op: string, a: TensorLike, b: TensorLike): void {
  checkOperand(a, op, 'input'); checkOperand(b, op, 'other');
}

export function maximum(a: TensorLike, b: TensorLike): Tensor {
  checkOperandPair('maximum', a, b);
  // ∂max(a,b) = ([a>b] + ½[a=b], [b>a] + ½[a=b])
  return record(runBinary('maximum', a, b, resultType(a, b)), 'MaximumBackward', [a, b], (g) => splitTies(g, a, b, gt));
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  checkOperandPair('minimum', a, b);
  // ∂min(a,b) = ([a<b] + ½[a=b], [b<a] + ½[a=b])
  return record(runBinary('minimum', a, b, resultType(a, b)), 'MinimumBackward', [a, b], (g) => splitTies(g, a, b, lt));
}

/** g where this operand wins, g/2 where they tie, 0 elsewhere; only for operands that need a gradient. */
function splitTies(g: Tensor, a: TensorLike, b: TensorLike, wins: (x: TensorLike, y: TensorLike) => Tensor): (Tensor | null)[] {
  const tie = where(eq(a, b), mul(g, 0.5), 0);
  return [needsGrad(a) ? where(wins(a, b), g, tie) : null, needsGrad(b) ? where(wins(b, a), g, tie) : null];
}

/** clamp(x, min, max): gradient passes where min ≤ x ≤ max, as PyTorch. */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  if (min == null && max == null) throw new Error('clamp: at least one of min or max must be given');
  const y = noGrad(() => {
    let r = x;
    if (min != null) r = runBinary('maximum', r, min, resultType(r, min));
    if (max != null) r = runBinary('minimum', r, max, resultType(r, max));
    return r === x ? clone0(x) : r;
  });
  return record(y, 'ClampBackward', [x, min ?? null, max ?? null], (g) => {
    let pass: Tensor | null = null;
    if (min != null) pass = ge(x, min);
    if (max != null) pass = pass ? logicalAnd(pass, le(x, max)) : le(x, max);
    const inside = where(pass!, g, 0);
    return [
      inside,
      min instanceof Tensor && min.requiresGrad ? where(lt(x, min), g, 0) : null,
      max instanceof Tensor && max.requiresGrad ? where(gt(x, max), g, 0) : null,
    ];
  });
}

function clone0(x: Tensor): Tensor {
  const out = uninitialized(x.shape, x.dtype);
  backend().copy(x, out);
  return out;
}

// ---------------------------------------------------------------- comparisons and logic (no gradient)

const compare = (op: BinaryOp) => (a: TensorLike, b: TensorLike): Tensor => {
  checkOperandPair(op, a, b);
  return runBinary(op, a, b, resultType(a, b), 'bool');
};
export const eq = compare('eq');
export const ne = compare('ne');
export const lt = compare('lt');
export const le = compare('le');
export const gt = compare('gt');
export const ge = compare('ge');
export const logicalAnd = compare('and');
export const logicalOr = compare('or');

// ---------------------------------------------------------------- where

/** cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) throw new TypeError('where: condition must be a Tensor');
  const dtype = resultType(a, b);
  const ta = asTensor(a, dtype), tb = asTensor(b, dtype);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  const out = uninitialized(shape, dtype);
  backend().where(broadcastView(cond, shape), broadcastView(ta, shape), broadcastView(tb, shape), out.data);
  // ∂ where(c, a, b) = (c, ¬c)
  return record(out, 'WhereBackward', [null, a, b], (g) => [
    null,
    needsGrad(a) ? where(cond, g, 0) : null,
    needsGrad(b) ? where(cond, 0, g) : null,
  ]);
}
