/**
 * The op case table: every core op on named inputs of given shapes, mirrored case by case (same names,
 * same input specs) in scripts/fixtures/gen_ops.py, which runs them in PyTorch (float64) and writes the
 * inputs, outputs, gradients of sum(out · w) and, for some cases, gradients of gradients to
 * test/fixtures/ops.json. test/ops-fixtures.test.ts checks nabla against that file; test/ops-gradcheck.test.ts
 * checks every differentiable case with finite differences.
 *
 * Reuse from a backend's tests (wasm, native, ...): run every case, forward and backward, on your backend
 * and on the reference 'cpu' backend with the same inputs, and compare:
 *
 *   import { test } from 'node:test';
 *   import assert from 'node:assert/strict';
 *   import { runOpCasesAgainstReference } from './op-cases.js';
 *
 *   for (const r of runOpCasesAgainstReference('wasm', 'float32', { rtol: 1e-4, atol: 1e-5 })) {
 *     test(`wasm matches cpu: ${r.name}`, () => assert.ok(r.ok, r.message));
 *   }
 *
 * Your backend must be registered (`registerBackend`) before the call; `listBackends()` lists those that are.
 * The function switches backends with `setBackend` and restores the previous one before returning. Outputs,
 * gradients (and double-backward gradients where the case has them) are compared with
 * |backend − cpu| ≤ atol + rtol·|cpu|; dtypes and shapes must match exactly. For scale: the cpu backend in
 * float32 stays within rtol = atol = 1e-6 of itself in float64 on every case (on the same float32 inputs);
 * in float64 a backend should agree to about 1e-12. `compareOpCases` compares
 * any two configurations (e.g. cpu float32 against cpu float64 on the same float32-rounded inputs), and
 * `runOpCase` runs one case, if you want finer control.
 */
import {
  type DType, Tensor, autograd, getBackend, listBackends, setBackend,
  abs, add, arange, argmax, argmin, cat, clamp, div, eq, erf, exp, eye, full, fullLike, ge, gt, le, linspace, log,
  logSoftmax, logsumexp, lt, matmul, maximum, mean, minimum, mul, ne, neg, ones, onesLike, pow, relu, sigmoid,
  softmax, sqrt, stack, sub, sum, tanh, where, zeros, zerosLike,
} from '../src/index.js';
import { type Mismatch, worstMismatch } from './helpers/assert.js';
import { type StoredTensor, fromStored, loadFixture } from './helpers/fixtures.js';

// ---------------------------------------------------------------- the table

/**
 * How an input's values are drawn (by gen_ops.py, from a per-case seed):
 * randn N(0, 1) · pos U(0.5, 2) · ints integers in [-3, 3] · posints integers in [1, 5] ·
 * pm1000 ±1000 + N(0, 1) with random signs · index integers in [0, high) · mask random booleans ·
 * grid (k mod 7) − 3 for the k-th element in row-major order (every value of [-3, 3], deterministic).
 */
export type InputKind = 'randn' | 'pos' | 'ints' | 'posints' | 'pm1000' | 'index' | 'mask' | 'grid';

export interface InputSpec {
  shape: number[];
  kind: InputKind;
  /** 'float' follows the run (float64 for fixtures, float32 or float64 for backend comparisons). */
  dtype: 'float' | DType;
  /** index: values in [0, high). */
  high?: number;
  /** Whether a floating input requires grad (default true). */
  grad?: boolean;
}

export interface CaseContext {
  /** The run's floating dtype. */
  dtype: 'float32' | 'float64';
}

export interface OpCase {
  name: string;
  /** The op under test (several cases may share one). */
  op: string;
  inputs: Record<string, InputSpec>;
  fn: (x: Record<string, Tensor>, ctx: CaseContext) => Tensor | Tensor[];
  /** Also compare gradients of gradients (autograd.grad with createGraph) against PyTorch. */
  doubleBackward?: boolean;
  /** false: skip the finite-difference check (inputs sit on kinks or ties on purpose). */
  gradcheck?: boolean;
}

const spec = (kind: InputKind, shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, kind, dtype: 'float', ...extra });
/** Float input, N(0, 1). */
const F = (...shape: number[]): InputSpec => spec('randn', shape);
/** Float input, U(0.5, 2): for log, sqrt, denominators and pow bases. */
const P = (...shape: number[]): InputSpec => spec('pos', shape);
/** Float input with small integer values (ties and zeros on purpose). */
const Z = (...shape: number[]): InputSpec => spec('ints', shape);
/** Float input near ±1000. */
const L = (...shape: number[]): InputSpec => spec('pm1000', shape);
/** int32 index in [0, high). */
const I = (high: number, ...shape: number[]): InputSpec => spec('index', shape, { dtype: 'int32', high });
/** bool mask. */
const M = (...shape: number[]): InputSpec => spec('mask', shape, { dtype: 'bool' });
/** An input of a fixed dtype. */
const D = (dtype: DType, kind: InputKind, ...shape: number[]): InputSpec => spec(kind, shape, { dtype });

type Fn = OpCase['fn'];
const cases: OpCase[] = [];
function addCase(name: string, op: string, inputs: Record<string, InputSpec>, fn: Fn, flags: Pick<OpCase, 'doubleBackward' | 'gradcheck'> = {}): void {
  cases.push({ name, op, inputs, fn, ...flags });
}
const DB = { doubleBackward: true };
const NOCHECK = { gradcheck: false };

// unary
addCase('neg', 'neg', { x: F(3, 4) }, ({ x }) => neg(x!));
addCase('exp', 'exp', { x: F(3, 4) }, ({ x }) => exp(x!), DB);
addCase('log', 'log', { x: P(3, 4) }, ({ x }) => log(x!), DB);
addCase('sqrt', 'sqrt', { x: P(3, 4) }, ({ x }) => sqrt(x!), DB);
addCase('abs', 'abs', { x: F(3, 4) }, ({ x }) => abs(x!));
addCase('abs_zeros', 'abs', { x: Z(3, 4) }, ({ x }) => x!.abs(), NOCHECK);
addCase('sigmoid', 'sigmoid', { x: F(3, 4) }, ({ x }) => sigmoid(x!), DB);
addCase('sigmoid_pm1000', 'sigmoid', { x: L(2, 4) }, ({ x }) => x!.sigmoid());
addCase('tanh', 'tanh', { x: F(3, 4) }, ({ x }) => tanh(x!), DB);
addCase('tanh_pm1000', 'tanh', { x: L(2, 4) }, ({ x }) => x!.tanh());
addCase('relu', 'relu', { x: F(3, 4) }, ({ x }) => relu(x!));
addCase('erf', 'erf', { x: F(3, 4) }, ({ x }) => erf(x!), DB);
addCase('erf_wide', 'erf', { x: F(4, 5) }, ({ x }) => x!.mul(2.5).erf());
addCase('erf_grid', 'erf', { x: spec('grid', [7]) }, ({ x }) => x!.erf());
addCase('relu_zeros', 'relu', { x: Z(3, 4) }, ({ x }) => x!.relu(), NOCHECK);
addCase('unary_chain_method', 'exp', { x: F(2, 3) }, ({ x }) => x!.mul(0.5).exp().log().tanh().sigmoid(), DB);

// binary arithmetic, broadcasting, plain numbers
addCase('add', 'add', { a: F(3, 4), b: F(3, 4) }, ({ a, b }) => add(a!, b!));
addCase('add_broadcast_row', 'add', { a: F(2, 3, 4), b: F(4) }, ({ a, b }) => a!.add(b!));
addCase('add_broadcast_both', 'add', { a: F(3, 1), b: F(1, 4) }, ({ a, b }) => add(a!, b!));
addCase('add_broadcast_3d', 'add', { a: F(2, 1, 4), b: F(3, 1) }, ({ a, b }) => add(a!, b!));
addCase('add_0d', 'add', { a: F(3, 4), b: F() }, ({ a, b }) => add(a!, b!));
addCase('add_scalar', 'add', { a: F(3, 4) }, ({ a }) => a!.add(2.5));
addCase('add_scalar_first', 'add', { a: F(3, 4) }, ({ a }) => add(2.5, a!));
addCase('add_same_input', 'add', { a: F(3, 4) }, ({ a }) => add(a!, a!));
addCase('sub', 'sub', { a: F(3, 4), b: F(3, 4) }, ({ a, b }) => sub(a!, b!));
addCase('sub_broadcast', 'sub', { a: F(3, 4), b: F(3, 1) }, ({ a, b }) => a!.sub(b!));
addCase('sub_scalar', 'sub', { a: F(3, 4) }, ({ a }) => a!.sub(1.5));
addCase('sub_scalar_first', 'sub', { a: F(3, 4) }, ({ a }) => sub(1.5, a!));
addCase('mul', 'mul', { a: F(3, 4), b: F(3, 4) }, ({ a, b }) => mul(a!, b!), DB);
addCase('mul_broadcast', 'mul', { a: F(2, 3, 4), b: F(3, 1) }, ({ a, b }) => a!.mul(b!), DB);
addCase('mul_scalar', 'mul', { a: F(3, 4) }, ({ a }) => a!.mul(-3));
addCase('mul_scalar_first', 'mul', { a: F(3, 4) }, ({ a }) => mul(0.25, a!));
addCase('mul_self', 'mul', { a: F(3, 4) }, ({ a }) => mul(a!, a!), DB);
addCase('div', 'div', { a: F(3, 4), b: P(3, 4) }, ({ a, b }) => div(a!, b!), DB);
addCase('div_broadcast', 'div', { a: F(3, 4), b: P(4) }, ({ a, b }) => a!.div(b!), DB);
addCase('div_scalar', 'div', { a: F(3, 4) }, ({ a }) => a!.div(4));
addCase('div_scalar_first', 'div', { b: P(3, 4) }, ({ b }) => div(2, b!), DB);
addCase('pow_scalar', 'pow', { a: F(3, 4) }, ({ a }) => a!.pow(3), DB);
addCase('pow_square', 'pow', { a: F(3, 4) }, ({ a }) => pow(a!, 2), DB);
addCase('pow_fraction', 'pow', { a: P(3, 4) }, ({ a }) => a!.pow(0.5), DB);
addCase('pow_negative', 'pow', { a: P(3, 4) }, ({ a }) => a!.pow(-2), DB);
addCase('pow_zero', 'pow', { a: F(3, 4) }, ({ a }) => a!.pow(0));
addCase('pow_tensor', 'pow', { a: P(3, 4), b: F(4) }, ({ a, b }) => pow(a!, b!), DB);
addCase('pow_scalar_base', 'pow', { b: F(3, 4) }, ({ b }) => pow(2, b!), DB);
addCase('pow_grid', 'pow', { a: spec('grid', [7, 7]), b: spec('grid', [7, 7]) }, ({ a, b }) => pow(a!, b!.T), NOCHECK); // all of a, b ∈ [-3, 3]: 0⁰, 0⁻¹, (−2)⁻³ ...
addCase('pow_zero_exponent_ints', 'pow', { a: Z(3, 4) }, ({ a }) => a!.pow(0), NOCHECK);
addCase('maximum', 'maximum', { a: F(3, 4), b: F(3, 4) }, ({ a, b }) => maximum(a!, b!));
addCase('maximum_broadcast', 'maximum', { a: F(3, 4), b: F(4) }, ({ a, b }) => a!.maximum(b!));
addCase('maximum_scalar', 'maximum', { a: F(3, 4) }, ({ a }) => maximum(a!, 0.1));
addCase('maximum_ties', 'maximum', { a: Z(3, 4), b: Z(3, 4) }, ({ a, b }) => maximum(a!, b!));
addCase('minimum', 'minimum', { a: F(3, 4), b: F(3, 4) }, ({ a, b }) => minimum(a!, b!));
addCase('minimum_broadcast', 'minimum', { a: F(2, 1, 4), b: F(3, 1) }, ({ a, b }) => a!.minimum(b!));
addCase('minimum_scalar', 'minimum', { a: F(3, 4) }, ({ a }) => minimum(-0.2, a!));
addCase('minimum_ties', 'minimum', { a: Z(3, 4), b: Z(3, 4) }, ({ a, b }) => minimum(a!, b!));
addCase('clamp', 'clamp', { x: F(3, 4) }, ({ x }) => clamp(x!, -0.5, 0.5));
addCase('clamp_min', 'clamp', { x: F(3, 4) }, ({ x }) => x!.clamp(0));
addCase('clamp_max', 'clamp', { x: F(3, 4) }, ({ x }) => x!.clamp(null, 0.3));
addCase('clamp_tensor_bounds', 'clamp', { x: F(3, 4), lo: F(4), hi: P(3, 1) }, ({ x, lo, hi }) => clamp(x!, lo!.sub(1), hi!));
addCase('where', 'where', { c: M(3, 4), a: F(3, 4), b: F(3, 4) }, ({ c, a, b }) => where(c!, a!, b!));
addCase('where_broadcast', 'where', { c: M(3, 1), a: F(4), b: F(3, 4) }, ({ c, a, b }) => where(c!, a!, b!));
addCase('where_scalar', 'where', { c: M(3, 4), a: F(3, 4) }, ({ c, a }) => where(c!, a!, 0));
addCase('where_method', 'where', { c: M(3, 4), a: F(3, 4) }, ({ c, a }) => a!.where(c!, -1.5));
addCase('where_comparison', 'where', { a: F(3, 4), b: F(3, 4) }, ({ a, b }) => where(gt(a!, b!), a!.mul(b!), a!.sub(b!)));

// comparisons (bool outputs, no gradient)
addCase('eq', 'eq', { a: Z(3, 4), b: Z(3, 4) }, ({ a, b }) => eq(a!, b!));
addCase('ne_broadcast', 'ne', { a: Z(3, 4), b: Z(4) }, ({ a, b }) => ne(a!, b!));
addCase('lt', 'lt', { a: Z(3, 4), b: Z(3, 4) }, ({ a, b }) => lt(a!, b!));
addCase('le_scalar', 'le', { a: Z(3, 4) }, ({ a }) => le(a!, 0));
addCase('gt_broadcast', 'gt', { a: Z(3, 1), b: Z(1, 4) }, ({ a, b }) => gt(a!, b!));
addCase('ge_method', 'ge', { a: Z(3, 4), b: Z(3, 4) }, ({ a, b }) => a!.ge(b!));
addCase('eq_scalar_method', 'eq', { a: Z(3, 4) }, ({ a }) => a!.eq(1));

// matmul
addCase('matmul_dot', 'matmul', { a: F(5), b: F(5) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_mv', 'matmul', { a: F(3, 5), b: F(5) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_vm', 'matmul', { a: F(5), b: F(5, 4) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_mm', 'matmul', { a: F(3, 5), b: F(5, 4) }, ({ a, b }) => a!.matmul(b!), DB);
addCase('matmul_batched', 'matmul', { a: F(2, 3, 5), b: F(2, 5, 4) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_batch_broadcast', 'matmul', { a: F(2, 1, 3, 5), b: F(3, 5, 4) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_batch_2d', 'matmul', { a: F(2, 3, 5), b: F(5, 4) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_2d_batch', 'matmul', { a: F(3, 5), b: F(2, 5, 4) }, ({ a, b }) => matmul(a!, b!), DB);
addCase('matmul_vec_batch', 'matmul', { a: F(5), b: F(2, 5, 4) }, ({ a, b }) => matmul(a!, b!));
addCase('matmul_batch_vec', 'matmul', { a: F(2, 3, 5), b: F(5) }, ({ a, b }) => matmul(a!, b!));
addCase('matmul_transposed_a', 'matmul', { a: F(5, 3), b: F(5, 4) }, ({ a, b }) => matmul(a!.T, b!), DB);
addCase('matmul_transposed_b', 'matmul', { a: F(3, 5), b: F(4, 5) }, ({ a, b }) => matmul(a!, b!.T), DB);
addCase('matmul_transposed_both', 'matmul', { a: F(5, 3), b: F(4, 5) }, ({ a, b }) => matmul(a!.T, b!.T));
addCase('matmul_batched_mT', 'matmul', { a: F(2, 5, 3), b: F(2, 4, 5) }, ({ a, b }) => matmul(a!.mT, b!.mT));
addCase('matmul_permuted', 'matmul', { a: F(3, 2, 5), b: F(2, 5, 4) }, ({ a, b }) => matmul(a!.permute(1, 0, 2), b!));
addCase('matmul_sliced', 'matmul', { a: F(3, 8), b: F(5, 4) }, ({ a, b }) => matmul(a!.slice(1, 1, 6), b!));
addCase('matmul_expanded_batch', 'matmul', { a: F(3, 5), b: F(2, 5, 4) }, ({ a, b }) => matmul(a!.expand(2, 3, 5), b!));

// reductions
addCase('sum_all', 'sum', { x: F(3, 4, 5) }, ({ x }) => sum(x!));
addCase('sum_dim', 'sum', { x: F(3, 4, 5) }, ({ x }) => x!.sum(1));
addCase('sum_neg_dim', 'sum', { x: F(3, 4, 5) }, ({ x }) => sum(x!, -1));
addCase('sum_keepdim', 'sum', { x: F(3, 4, 5) }, ({ x }) => x!.sum(1, true));
addCase('sum_dims', 'sum', { x: F(3, 4, 5) }, ({ x }) => sum(x!, [0, 2]));
addCase('sum_dims_keepdim', 'sum', { x: F(3, 4, 5) }, ({ x }) => sum(x!, [-1, 0], true));
addCase('sum_transposed', 'sum', { x: F(3, 4) }, ({ x }) => x!.T.sum(1));
addCase('sum_int', 'sum', { x: D('int32', 'ints', 3, 4) }, ({ x }) => [x!.sum(), x!.sum(0)]);
addCase('sum_bool', 'sum', { m: M(3, 4) }, ({ m }) => m!.sum(1));
addCase('mean_all', 'mean', { x: F(3, 4, 5) }, ({ x }) => mean(x!));
addCase('mean_dim', 'mean', { x: F(3, 4, 5) }, ({ x }) => x!.mean(1));
addCase('mean_neg_keepdim', 'mean', { x: F(3, 4, 5) }, ({ x }) => x!.mean(-2, true));
addCase('mean_dims', 'mean', { x: F(3, 4, 5) }, ({ x }) => mean(x!, [0, 1]));
addCase('max_all', 'max', { x: F(3, 4) }, ({ x }) => x!.max());
addCase('min_all', 'min', { x: F(3, 4) }, ({ x }) => x!.min());
addCase('max_all_ties', 'max', { x: Z(3, 4) }, ({ x }) => x!.max(), NOCHECK);
addCase('min_all_ties', 'min', { x: Z(3, 4) }, ({ x }) => x!.min(), NOCHECK);
addCase('max_dim', 'max', { x: F(3, 4, 5) }, ({ x }) => { const r = x!.max(1); return [r.values, r.indices]; });
addCase('max_dim_keepdim', 'max', { x: F(3, 4, 5) }, ({ x }) => { const r = x!.max(-1, true); return [r.values, r.indices]; });
addCase('min_dim', 'min', { x: F(3, 4, 5) }, ({ x }) => { const r = x!.min(0); return [r.values, r.indices]; });
addCase('min_dim_keepdim', 'min', { x: F(3, 4, 5) }, ({ x }) => { const r = x!.min(-2, true); return [r.values, r.indices]; });
addCase('argmax_all', 'argmax', { x: F(3, 4, 5) }, ({ x }) => argmax(x!));
addCase('argmax_dim', 'argmax', { x: F(3, 4, 5) }, ({ x }) => x!.argmax(1));
addCase('argmax_keepdim', 'argmax', { x: F(3, 4, 5) }, ({ x }) => argmax(x!, -1, true));
addCase('argmin_all', 'argmin', { x: F(3, 4, 5) }, ({ x }) => x!.argmin());
addCase('argmin_dim', 'argmin', { x: F(3, 4, 5) }, ({ x }) => argmin(x!, -2));
addCase('argmax_transposed', 'argmax', { x: F(4, 5) }, ({ x }) => x!.T.argmax(1));

// softmax family
addCase('softmax', 'softmax', { x: F(3, 5) }, ({ x }) => softmax(x!, -1), DB);
addCase('softmax_dim0', 'softmax', { x: F(3, 5) }, ({ x }) => x!.softmax(0));
addCase('softmax_3d', 'softmax', { x: F(2, 3, 4) }, ({ x }) => softmax(x!, 1));
addCase('softmax_pm1000', 'softmax', { x: L(3, 5) }, ({ x }) => softmax(x!, 1));
addCase('logSoftmax', 'logSoftmax', { x: F(3, 5) }, ({ x }) => logSoftmax(x!, -1), DB);
addCase('logSoftmax_dim0', 'logSoftmax', { x: F(3, 5) }, ({ x }) => x!.logSoftmax(0));
addCase('logSoftmax_pm1000', 'logSoftmax', { x: L(3, 5) }, ({ x }) => logSoftmax(x!, 1));
addCase('logsumexp', 'logsumexp', { x: F(3, 5) }, ({ x }) => logsumexp(x!, 1), DB);
addCase('logsumexp_keepdim', 'logsumexp', { x: F(3, 5) }, ({ x }) => x!.logsumexp(0, true));
addCase('logsumexp_dims', 'logsumexp', { x: F(2, 3, 4) }, ({ x }) => logsumexp(x!, [0, 2]));
addCase('logsumexp_pm1000', 'logsumexp', { x: L(3, 5) }, ({ x }) => logsumexp(x!, -1));

// shape and views
addCase('reshape', 'reshape', { x: F(3, 4) }, ({ x }) => x!.reshape(2, 6));
addCase('reshape_infer', 'reshape', { x: F(2, 3, 4) }, ({ x }) => x!.reshape([-1, 4]));
addCase('reshape_noncontiguous', 'reshape', { x: F(3, 4) }, ({ x }) => x!.T.reshape(-1));
addCase('view', 'view', { x: F(3, 4) }, ({ x }) => x!.view(4, 3));
addCase('view_infer', 'view', { x: F(2, 3, 4) }, ({ x }) => x!.view(-1, 12));
addCase('flatten', 'flatten', { x: F(2, 3, 4) }, ({ x }) => x!.flatten());
addCase('flatten_range', 'flatten', { x: F(2, 3, 4, 2) }, ({ x }) => x!.flatten(1, 2));
addCase('squeeze', 'squeeze', { x: F(3, 1, 4, 1) }, ({ x }) => x!.squeeze());
addCase('squeeze_dim', 'squeeze', { x: F(3, 1, 4, 1) }, ({ x }) => x!.squeeze(1));
addCase('squeeze_neg_dim', 'squeeze', { x: F(3, 1, 4, 1) }, ({ x }) => x!.squeeze(-1));
addCase('squeeze_not_one', 'squeeze', { x: F(3, 1, 4, 1) }, ({ x }) => x!.squeeze(0));
addCase('unsqueeze', 'unsqueeze', { x: F(3, 4) }, ({ x }) => x!.unsqueeze(0));
addCase('unsqueeze_neg', 'unsqueeze', { x: F(3, 4) }, ({ x }) => x!.unsqueeze(-1));
addCase('unsqueeze_middle', 'unsqueeze', { x: F(3, 4) }, ({ x }) => x!.unsqueeze(1).mul(2));
addCase('transpose', 'transpose', { x: F(2, 3, 4) }, ({ x }) => x!.transpose(0, 2));
addCase('transpose_neg', 'transpose', { x: F(2, 3, 4) }, ({ x }) => x!.transpose(-1, -2).mul(x!.transpose(1, 2)));
addCase('T', 'transpose', { x: F(3, 4) }, ({ x }) => x!.T);
addCase('mT', 'transpose', { x: F(2, 3, 4) }, ({ x }) => x!.mT);
addCase('permute', 'permute', { x: F(2, 3, 4) }, ({ x }) => x!.permute(2, 0, 1));
addCase('permute_neg', 'permute', { x: F(2, 3, 4) }, ({ x }) => x!.permute([-1, 1, 0]).exp());
addCase('expand', 'expand', { x: F(3, 1) }, ({ x }) => x!.expand(3, 4));
addCase('expand_new_dims', 'expand', { x: F(4) }, ({ x }) => x!.expand([2, 3, 4]));
addCase('expand_keep', 'expand', { x: F(1, 4) }, ({ x }) => x!.expand(-1, 4).expand(3, -1));
addCase('contiguous', 'contiguous', { x: F(3, 4) }, ({ x }) => x!.T.contiguous());
addCase('contiguous_permuted', 'contiguous', { x: F(2, 3, 4) }, ({ x }) => x!.permute(1, 2, 0).contiguous().mul(x!.permute(1, 2, 0)));

// joining
addCase('cat', 'cat', { a: F(2, 3), b: F(1, 3), c: F(3, 3) }, ({ a, b, c }) => cat([a!, b!, c!]));
addCase('cat_dim1', 'cat', { a: F(2, 3), b: F(2, 1) }, ({ a, b }) => cat([a!, b!], 1));
addCase('cat_neg_dim', 'cat', { a: F(2, 2, 3), b: F(2, 2, 2) }, ({ a, b }) => cat([a!, b!], -1));
addCase('cat_views', 'cat', { a: F(3, 2), b: F(2, 2) }, ({ a, b }) => cat([a!.T, b!], 1));
addCase('stack', 'stack', { a: F(2, 3), b: F(2, 3) }, ({ a, b }) => stack([a!, b!]));
addCase('stack_dim1', 'stack', { a: F(2, 3), b: F(2, 3), c: F(2, 3) }, ({ a, b, c }) => stack([a!, b!, c!], 1));
addCase('stack_neg_dim', 'stack', { a: F(2, 3), b: F(2, 3) }, ({ a, b }) => stack([a!, b!], -1));

// indexing and slicing
addCase('gather', 'gather', { x: F(3, 5), i: I(5, 3, 2) }, ({ x, i }) => x!.gather(1, i!));
addCase('gather_dim0', 'gather', { x: F(3, 5), i: I(3, 2, 5) }, ({ x, i }) => x!.gather(0, i!));
addCase('gather_3d', 'gather', { x: F(2, 3, 4), i: I(3, 2, 4, 4) }, ({ x, i }) => x!.gather(-2, i!));
addCase('indexSelect', 'indexSelect', { x: F(4, 3), i: I(4, 6) }, ({ x, i }) => x!.indexSelect(0, i!));
addCase('indexSelect_dim1', 'indexSelect', { x: F(2, 4, 3), i: I(4, 3) }, ({ x, i }) => x!.indexSelect(1, i!));
addCase('slice', 'slice', { x: F(5, 4) }, ({ x }) => x!.slice(0, 1, 4));
addCase('slice_step', 'slice', { x: F(5, 6) }, ({ x }) => x!.slice(1, 0, 6, 2));
addCase('slice_negative', 'slice', { x: F(5, 4) }, ({ x }) => x!.slice(0, -3, -1));
addCase('slice_open_end', 'slice', { x: F(5, 4) }, ({ x }) => x!.slice(1, 2).mul(x!.slice(1, 0, 2)));
addCase('narrow', 'narrow', { x: F(3, 5) }, ({ x }) => x!.narrow(1, 1, 3));
addCase('select', 'select', { x: F(3, 4) }, ({ x }) => x!.select(0, 2));
addCase('select_neg', 'select', { x: F(2, 3, 4) }, ({ x }) => x!.select(1, -1));

// detach, clone, dtype conversion
addCase('detach', 'detach', { x: F(3, 4) }, ({ x }) => x!.mul(x!.detach()), NOCHECK); // finite differences see through detach
addCase('clone', 'clone', { x: F(3, 4) }, ({ x }) => x!.clone());
addCase('to_float32', 'to', { x: F(3, 4) }, ({ x }) => x!.to('float32'));
addCase('to_float64', 'to', { x: D('float32', 'randn', 3, 4) }, ({ x }) => x!.to('float64'));
addCase('to_int32', 'to', { x: F(3, 4) }, ({ x }) => x!.mul(3).to('int32'));
addCase('to_bool', 'to', { x: Z(3, 4) }, ({ x }) => x!.to('bool'));
addCase('int_to_float', 'to', { x: D('int32', 'ints', 3, 4) }, ({ x }) => x!.double());

// dtype promotion
addCase('promote_f32_f64', 'add', { a: D('float32', 'randn', 3, 4), b: D('float64', 'randn', 4) }, ({ a, b }) => a!.add(b!));
addCase('promote_int_float', 'mul', { a: D('int32', 'ints', 3, 4), b: F(4) }, ({ a, b }) => a!.mul(b!));
addCase('promote_int_float_scalar', 'mul', { a: D('int32', 'ints', 3, 4) }, ({ a }) => a!.mul(0.5));
addCase('promote_int_int_scalar', 'add', { a: D('int32', 'ints', 3, 4) }, ({ a }) => a!.add(3));
addCase('promote_int_int', 'add', { a: D('int32', 'ints', 3, 4), b: D('int32', 'ints', 4) }, ({ a, b }) => a!.add(b!));
addCase('promote_int_div', 'div', { a: D('int32', 'ints', 3, 4), b: D('int32', 'posints', 3, 4) }, ({ a, b }) => a!.div(b!));
addCase('promote_bool_int', 'add', { m: M(3, 4), a: D('int32', 'ints', 3, 4) }, ({ m, a }) => m!.add(a!));
addCase('promote_f32_scalar', 'mul', { a: D('float32', 'randn', 3, 4) }, ({ a }) => a!.mul(2.5));
addCase('promote_0d_f64', 'mul', { a: D('float32', 'randn', 3, 4), s: D('float64', 'randn') }, ({ a, s }) => a!.mul(s!));
addCase('promote_0d_float_int', 'mul', { a: D('int32', 'ints', 3, 4), s: D('float64', 'randn') }, ({ a, s }) => a!.mul(s!));
addCase('promote_where', 'where', { c: M(3, 4), a: D('float32', 'randn', 3, 4), b: D('float64', 'randn', 3, 4) }, ({ c, a, b }) => where(c!, a!, b!));
addCase('promote_cat', 'cat', { a: D('float32', 'randn', 2, 3), b: D('float64', 'randn', 1, 3) }, ({ a, b }) => cat([a!, b!]));

// creation (no inputs; values in the run's dtype)
addCase('zeros', 'zeros', {}, (_, { dtype }) => zeros([2, 3], { dtype }));
addCase('ones', 'ones', {}, (_, { dtype }) => ones([3], { dtype }));
addCase('full', 'full', {}, (_, { dtype }) => full([2, 2], -1.25, { dtype }));
addCase('arange', 'arange', {}, (_, { dtype }) => arange(5, undefined, 1, { dtype }));
addCase('arange_step', 'arange', {}, (_, { dtype }) => arange(1, 4, 0.5, { dtype }));
addCase('arange_negative_step', 'arange', {}, (_, { dtype }) => arange(5, 0, -1.5, { dtype }));
addCase('linspace', 'linspace', {}, (_, { dtype }) => linspace(-1, 2, 7, { dtype }));
addCase('linspace_one', 'linspace', {}, (_, { dtype }) => linspace(3, 5, 1, { dtype }));
addCase('eye', 'eye', {}, (_, { dtype }) => eye(3, undefined, { dtype }));
addCase('eye_rect', 'eye', {}, (_, { dtype }) => eye(2, 4, { dtype }));
addCase('zerosLike', 'zerosLike', { x: F(2, 3) }, ({ x }) => zerosLike(x!));
addCase('onesLike', 'onesLike', { x: F(2, 3) }, ({ x }) => onesLike(x!));
addCase('fullLike', 'fullLike', { x: F(2, 3) }, ({ x }) => fullLike(x!, 7));
addCase('int_creation', 'zeros', {}, () => [zeros([2], { dtype: 'int32' }), ones([2], { dtype: 'bool' }), arange(3, undefined, 1, { dtype: 'int32' })]);

// composites that exercise several ops and the central broadcast reduction
addCase('mlp_layer', 'matmul', { x: F(4, 3), w: F(5, 3), b: F(5) }, ({ x, w, b }) => x!.matmul(w!.T).add(b!).tanh(), DB);
addCase('cross_entropy_like', 'logSoftmax', { x: F(4, 5), t: I(5, 4, 1) }, ({ x, t }) => x!.logSoftmax(1).gather(1, t!).neg().mean(), DB);
addCase('mse_like', 'mean', { a: F(4, 3), b: F(4, 3) }, ({ a, b }) => a!.sub(b!).pow(2).mean(), DB);

export const opCases: readonly OpCase[] = cases;

// ---------------------------------------------------------------- running a case

/** ops.json as written by scripts/fixtures/gen_ops.py. */
export interface OpsFixture {
  torch: string;
  cases: Record<string, FixtureCase>;
}

export interface FixtureCase {
  inputs: Record<string, StoredTensor>;
  outputs: StoredTensor[];
  /** One weight per output (null for non-floating outputs): the loss is Σ sum(out · w). */
  weights: (StoredTensor | null)[];
  /** Gradient of the loss per input (null: the input gets none). */
  grads: Record<string, StoredTensor | null>;
  /** Double backward: v per input whose gradient requires grad, and gradients of Σ sum(grad · v). */
  doubleBackward?: { v: Record<string, StoredTensor>; grads: Record<string, StoredTensor | null> };
}

export const loadOpsFixture = (): OpsFixture => loadFixture<OpsFixture>('ops');

export interface RunOptions {
  /** Floating dtype of the run (inputs of dtype 'float', created tensors). */
  dtype: 'float32' | 'float64';
  /** Round float inputs to float32 first, so a float64 run sees the values a float32 run sees. */
  roundToFloat32?: boolean;
  /** Compute gradients of gradients (needs the fixture's v). */
  doubleBackward?: boolean;
}

export interface CaseResult {
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  /** Gradient of Σ sum(out · w) per input (null where none flows or the input takes none). */
  grads: Record<string, Tensor | null>;
  doubleGrads?: Record<string, Tensor | null>;
}

const round32 = (t: Tensor): Tensor => t.to('float32').to(t.dtype);

/** The case's input tensors from the fixture, in the run's dtype, floating ones requiring grad. */
export function caseInputs(c: OpCase, stored: Record<string, StoredTensor>, opts: RunOptions): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, s] of Object.entries(c.inputs)) {
    const st = stored[name];
    if (!st) throw new Error(`op case ${c.name}: input ${name} is missing from the fixture`);
    const dtype: DType = s.dtype === 'float' ? opts.dtype : s.dtype;
    let t = fromStored(st, dtype);
    if (opts.roundToFloat32 && t.isFloatingPoint) t = round32(t);
    if (t.isFloatingPoint && s.grad !== false) t.requiresGrad_(true);
    out[name] = t;
  }
  return out;
}

const asList = (r: Tensor | Tensor[]): Tensor[] => (r instanceof Tensor ? [r] : r);

/**
 * Run one case: forward, then the gradients of Σ sum(out · w) (w from the fixture, in each output's dtype),
 * then optionally gradients of Σ sum(grad · v).
 */
export function runOpCase(c: OpCase, fx: FixtureCase, opts: RunOptions): CaseResult {
  const inputs = caseInputs(c, fx.inputs, opts);
  const outputs = asList(c.fn(inputs, { dtype: opts.dtype }));
  const names = Object.keys(inputs).filter((k) => inputs[k]!.requiresGrad);
  const grads: Record<string, Tensor | null> = {};
  for (const k of Object.keys(inputs)) grads[k] = null;
  const terms: Tensor[] = [];
  outputs.forEach((o, i) => {
    const w = fx.weights[i];
    if (w && o.requiresGrad) terms.push(o.mul(fromWeight(w, o.dtype, opts)).sum());
  });
  if (!terms.length || !names.length) return { inputs, outputs, grads };
  const loss = terms.reduce((a, b) => a.add(b));
  const dbl = !!(opts.doubleBackward && c.doubleBackward && fx.doubleBackward);
  const g = autograd.grad(loss, names.map((k) => inputs[k]!), { allowUnused: true, createGraph: dbl });
  names.forEach((k, i) => { grads[k] = g[i] ?? null; });
  if (!dbl) return { inputs, outputs, grads };
  const second: Tensor[] = [];
  names.forEach((k, i) => {
    const v = fx.doubleBackward!.v[k];
    if (v && g[i] && g[i]!.requiresGrad) second.push(g[i]!.mul(fromWeight(v, g[i]!.dtype, opts)).sum());
  });
  const doubleGrads: Record<string, Tensor | null> = {};
  for (const k of Object.keys(inputs)) doubleGrads[k] = null;
  if (second.length) {
    const gg = autograd.grad(second.reduce((a, b) => a.add(b)), names.map((k) => inputs[k]!), { allowUnused: true });
    names.forEach((k, i) => { doubleGrads[k] = gg[i] ?? null; });
  }
  return { inputs, outputs, grads, doubleGrads };
}

function fromWeight(w: StoredTensor, dtype: DType, opts: RunOptions): Tensor {
  const t = fromStored(w, dtype);
  return opts.roundToFloat32 ? round32(t) : t;
}

// ---------------------------------------------------------------- comparing two runs (backends)

export interface RunConfig {
  backend: string;
  dtype: 'float32' | 'float64';
}

export interface CaseComparison {
  name: string;
  ok: boolean;
  /** What differed (empty when ok). */
  message: string;
  /** Worst |a − b| / (atol + rtol·|b|) over all compared values (≤ 1 passes). */
  worstRatio: number;
}

export interface CompareTolerance {
  rtol: number;
  atol: number;
}

function runOn(cfg: RunConfig, c: OpCase, fx: FixtureCase, roundToFloat32: boolean): CaseResult {
  const prev = getBackend();
  setBackend(cfg.backend);
  try {
    return runOpCase(c, fx, { dtype: cfg.dtype, roundToFloat32, doubleBackward: true });
  } finally {
    setBackend(prev);
  }
}

/**
 * Run every case (forward, gradients, and double backward where the case has it) under two configurations
 * on the same inputs (rounded to float32 when either run is float32) and compare them.
 * `only` restricts the run to the named cases.
 */
export function compareOpCases(test: RunConfig, reference: RunConfig, tol: CompareTolerance, only?: readonly string[]): CaseComparison[] {
  for (const b of [test.backend, reference.backend]) {
    if (!listBackends().includes(b)) throw new Error(`compareOpCases: backend '${b}' is not registered (registered: ${listBackends().join(', ')})`);
  }
  const fixture = loadOpsFixture();
  const roundToFloat32 = test.dtype === 'float32' || reference.dtype === 'float32';
  const out: CaseComparison[] = [];
  for (const c of opCases) {
    if (only && !only.includes(c.name)) continue;
    const fx = fixture.cases[c.name];
    if (!fx) { out.push({ name: c.name, ok: false, message: 'no fixture entry (run scripts/fixtures/gen_ops.py)', worstRatio: Infinity }); continue; }
    const problems: string[] = [];
    let worstRatio = 0;
    const check = (what: string, a: Tensor | null | undefined, b: Tensor | null | undefined): void => {
      if (!a || !b) { if (!a !== !b) problems.push(`${what}: ${a ? 'present' : 'missing'} on ${test.backend}, ${b ? 'present' : 'missing'} on ${reference.backend}`); return; }
      if (a.shape.join() !== b.shape.join()) { problems.push(`${what}: shape [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`); return; }
      const expectDtype = test.dtype === reference.dtype ? b.dtype : a.dtype;
      if (a.dtype !== expectDtype) { problems.push(`${what}: dtype ${a.dtype} vs ${b.dtype}`); return; }
      const w = worstMismatch(Array.from(a.dataSync(), Number), Array.from(b.dataSync(), Number), tol) as Mismatch;
      worstRatio = Math.max(worstRatio, w.ratio);
      if (w.ratio > 1) problems.push(`${what}: element ${w.index} is ${w.actual} on ${test.backend}/${test.dtype}, ${w.expected} on ${reference.backend}/${reference.dtype}`);
    };
    try {
      const a = runOn(test, c, fx, roundToFloat32), b = runOn(reference, c, fx, roundToFloat32);
      if (a.outputs.length !== b.outputs.length) problems.push(`${a.outputs.length} outputs vs ${b.outputs.length}`);
      a.outputs.forEach((o, i) => check(`output ${i}`, o, b.outputs[i]));
      for (const k of Object.keys(a.grads)) check(`gradient of ${k}`, a.grads[k], b.grads[k]);
      for (const k of Object.keys(a.doubleGrads ?? {})) check(`double-backward gradient of ${k}`, a.doubleGrads![k], b.doubleGrads?.[k]);
    } catch (e) {
      problems.push(`threw: ${(e as Error).message}`);
      worstRatio = Infinity;
    }
    out.push({ name: c.name, ok: problems.length === 0, message: problems.join('; '), worstRatio });
  }
  return out;
}

/** Every case on `backendName` against the reference 'cpu' backend, both in `dtype`. */
export function runOpCasesAgainstReference(backendName: string, dtype: 'float32' | 'float64', tol: CompareTolerance): CaseComparison[] {
  return compareOpCases({ backend: backendName, dtype }, { backend: 'cpu', dtype }, tol);
}
