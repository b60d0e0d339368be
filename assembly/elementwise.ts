/**
 * Elementwise float32 kernels. Loops run whole vectors; the last, partial vector of a buffer goes through the
 * thread's scratch block (tailIn/tailOut), so that no kernel reads or writes past its operands: outputs may be
 * arrays that live in wasm memory next to other data. An output may be the very same buffer as an input read
 * elementwise (each vector is read before it is written), never a partly overlapping one.
 */
import { k, vexp, vlog, vsigmoid, vtanh, vrelu, sigmoidVectors, ONE } from './math';
import { scratch, tailIn, tailOut } from './scratch';

// unary op codes (the JS side keeps the same table)
export const U_NEG = 0, U_EXP = 1, U_LOG = 2, U_SQRT = 3, U_ABS = 4, U_SIGMOID = 5, U_TANH = 6, U_RELU = 7;
export const U_RECIPROCAL = 8, U_FLOOR = 9, U_CEIL = 10, U_ROUND = 11;

@inline function unaryOp(op: i32, x: v128): v128 {
  switch (op) {
    case U_NEG: return f32x4.neg(x);
    case U_EXP: return vexp(x);
    case U_LOG: return vlog(x);
    case U_SQRT: return f32x4.sqrt(x);
    case U_ABS: return f32x4.abs(x);
    case U_SIGMOID: return vsigmoid(x);
    case U_TANH: return vtanh(x);
    case U_RELU: return vrelu(x);
    case U_RECIPROCAL: return f32x4.div(k(ONE), x);
    case U_FLOOR: return f32x4.floor(x);
    case U_CEIL: return f32x4.ceil(x);
    default: return f32x4.nearest(x); // round half to even, as torch.round
  }
}

@inline function unaryLoop(op: i32, x: usize, out: usize, n: i32): void {
  const end = x + (<usize>(n + 3) >> 2 << 4);
  while (x < end) { v128.store(out, unaryOp(op, v128.load(x))); x += 16; out += 16; }
}

/** out[i] = op(x[i]) for i < n (x and out may be the same buffer). */
export function unary(op: i32, x: usize, out: usize, n: i32): void {
  const n4 = n & ~3, r = n - n4;
  unaryVectors(op, x, out, n4);
  if (r == 0) return;
  const s = scratch, o = <usize>n4 << 2;
  tailIn(s, x + o, r);
  unaryVectors(op, s, s, 4);
  tailOut(out + o, s, r);
}

/** unary over n floats, n a multiple of 4. */
function unaryVectors(op: i32, x: usize, out: usize, n: i32): void {
  switch (op) {
    case U_NEG: unaryLoop(U_NEG, x, out, n); break;
    case U_EXP: unaryLoop(U_EXP, x, out, n); break;
    case U_LOG: unaryLoop(U_LOG, x, out, n); break;
    case U_SQRT: unaryLoop(U_SQRT, x, out, n); break;
    case U_ABS: unaryLoop(U_ABS, x, out, n); break;
    case U_SIGMOID: sigmoidVectors(x, out, n); break;
    case U_TANH: unaryLoop(U_TANH, x, out, n); break;
    case U_RELU: unaryLoop(U_RELU, x, out, n); break;
    case U_RECIPROCAL: unaryLoop(U_RECIPROCAL, x, out, n); break;
    case U_FLOOR: unaryLoop(U_FLOOR, x, out, n); break;
    case U_CEIL: unaryLoop(U_CEIL, x, out, n); break;
    default: unaryLoop(U_ROUND, x, out, n); break;
  }
}

// binary op codes
export const B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_MAX = 4, B_MIN = 5;

@inline function binaryOp(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD: return f32x4.add(a, b);
    case B_SUB: return f32x4.sub(a, b);
    case B_MUL: return f32x4.mul(a, b);
    case B_DIV: return f32x4.div(a, b);
    // (a > b || a ≠ a) ? a : b, exactly the reference's choice (NaN wins, ties take b)
    case B_MAX: return v128.bitselect(a, b, v128.or(f32x4.gt(a, b), f32x4.ne(a, a)));
    default: return v128.bitselect(a, b, v128.or(f32x4.lt(a, b), f32x4.ne(a, a)));
  }
}

// operand modes of binary2d: how operand X of an R×C result is read
export const M_FULL = 0, M_ROW = 1, M_COL = 2, M_SCALAR = 3;

/** One row of C results; sa/sb: 1 when that operand is one value splatted over the row. */
@inline function binaryRow(op: i32, a: usize, sa: bool, b: usize, sb: bool, out: usize, C: i32): void {
  const C4 = C & ~3, r = C - C4;
  binaryVectors(op, a, sa, b, sb, out, <usize>C4 << 2);
  if (r == 0) return;
  const s = scratch, o = <usize>C4 << 2;
  if (!sa) { tailIn(s, a + o, r); a = s; }
  if (!sb) { tailIn(s + 16, b + o, r); b = s + 16; }
  binaryVectors(op, a, sa, b, sb, s + 32, 16);
  tailOut(out + o, s + 32, r);
}

/** bytes (a multiple of 16) of results at out. */
@inline function binaryVectors(op: i32, a: usize, sa: bool, b: usize, sb: bool, out: usize, bytes: usize): void {
  const end = out + bytes;
  if (sa && sb) {
    const v = binaryOp(op, v128.load32_splat(a), v128.load32_splat(b));
    while (out < end) { v128.store(out, v); out += 16; }
  } else if (sa) {
    const va = v128.load32_splat(a);
    while (out < end) { v128.store(out, binaryOp(op, va, v128.load(b))); b += 16; out += 16; }
  } else if (sb) {
    const vb = v128.load32_splat(b);
    while (out < end) { v128.store(out, binaryOp(op, v128.load(a), vb)); a += 16; out += 16; }
  } else {
    while (out < end) { v128.store(out, binaryOp(op, v128.load(a), v128.load(b))); a += 16; b += 16; out += 16; }
  }
}

@inline function binaryLoop(op: i32, a: usize, am: i32, b: usize, bm: i32, out: usize, R: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  if (R == 1 || (am != M_COL && bm != M_COL && am != M_ROW && bm != M_ROW)) {
    // one row of R·C: full and scalar operands only
    binaryRow(op, a, am == M_SCALAR, b, bm == M_SCALAR, out, R * C);
    return;
  }
  for (let r = 0; r < R; r++) {
    const pa = am == M_FULL ? a + <usize>r * rowBytes : am == M_COL ? a + (<usize>r << 2) : a;
    const pb = bm == M_FULL ? b + <usize>r * rowBytes : bm == M_COL ? b + (<usize>r << 2) : b;
    binaryRow(op, pa, am >= M_COL, pb, bm >= M_COL, out + <usize>r * rowBytes, C);
  }
}

/** out (R×C, contiguous) = op(a, b) with each operand read per its mode; out may be a (or b) when read in full. */
export function binary2d(op: i32, a: usize, am: i32, b: usize, bm: i32, out: usize, R: i32, C: i32): void {
  switch (op) {
    case B_ADD: binaryLoop(B_ADD, a, am, b, bm, out, R, C); break;
    case B_SUB: binaryLoop(B_SUB, a, am, b, bm, out, R, C); break;
    case B_MUL: binaryLoop(B_MUL, a, am, b, bm, out, R, C); break;
    case B_DIV: binaryLoop(B_DIV, a, am, b, bm, out, R, C); break;
    case B_MAX: binaryLoop(B_MAX, a, am, b, bm, out, R, C); break;
    default: binaryLoop(B_MIN, a, am, b, bm, out, R, C); break;
  }
}

/** Gradient of an activation from its output y and the incoming gradient g: sigmoid g·y·(1 − y), tanh g·(1 − y²). */
export function activationGrad(op: i32, y: usize, g: usize, out: usize, n: i32): void {
  const n4 = n & ~3, r = n - n4;
  activationGradVectors(op, y, g, out, <usize>n4 << 2);
  if (r == 0) return;
  const s = scratch, o = <usize>n4 << 2;
  tailIn(s, y + o, r);
  tailIn(s + 16, g + o, r);
  activationGradVectors(op, s, s + 16, s + 32, 16);
  tailOut(out + o, s + 32, r);
}

@inline function activationGradVectors(op: i32, y: usize, g: usize, out: usize, bytes: usize): void {
  const end = out + bytes;
  const one = k(ONE);
  if (op == U_SIGMOID) {
    while (out < end) {
      const yv = v128.load(y);
      v128.store(out, f32x4.mul(v128.load(g), f32x4.mul(yv, f32x4.sub(one, yv))));
      y += 16; g += 16; out += 16;
    }
  } else {
    while (out < end) {
      const yv = v128.load(y);
      v128.store(out, f32x4.mul(v128.load(g), f32x4.sub(one, f32x4.mul(yv, yv))));
      y += 16; g += 16; out += 16;
    }
  }
}
