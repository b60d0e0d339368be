// Node-API entry points. Every kernel works in place on the TypedArrays it is given (no copies): the
// arguments are the arrays, element offsets and sizes; shapes and strides of strided views come through a
// Float64Array registered once with setMeta ([nd, shape…, strides of operand 0…, strides of operand 1…]).
// Every view is bounds-checked against its array before a kernel touches memory.
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gemm.h"
#include "kernels.h"
#include "ops.h"
#include "pool.h"

namespace nabla {

const char* const kUnaryNames[U_COUNT] = {"neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu",
                                          "sign", "reciprocal", "sin", "cos", "erf", "floor", "ceil", "round"};
const char* const kBinaryNames[B_COUNT] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                           "eq", "ne", "lt", "le", "gt", "ge"};

namespace {

const Kernels* active = nullptr;

/** Per-environment state (each worker thread that loads the addon has its own): the meta array. */
struct EnvState {
  const double* meta = nullptr;
  size_t meta_len = 0;
  napi_ref meta_ref = nullptr;
};

bool cpu_has_avx512() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

bool cpu_has_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// ------------------------------------------------------------------ argument helpers

struct Args {
  napi_env env;
  size_t argc;
  napi_value argv[16];
  bool ok = true;
  EnvState* state = nullptr;
  const double* meta = nullptr;
  size_t meta_len = 0;

  Args(napi_env e, napi_callback_info info, size_t expected) : env(e), argc(16) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    void* d = nullptr;
    napi_get_instance_data(env, &d);
    state = static_cast<EnvState*>(d);
    if (state) { meta = state->meta; meta_len = state->meta_len; }
    if (argc < expected) fail("wrong number of arguments");
  }
  void fail(const char* msg) {
    if (!ok) return;
    ok = false;
    napi_throw_range_error(env, nullptr, msg);
  }
  long num(size_t i) {
    double d = 0;
    if (ok && napi_get_value_double(env, argv[i], &d) != napi_ok) fail("expected a number");
    if (ok && !(d > -9e15 && d < 9e15)) fail("expected a finite integer");
    return ok ? (long)d : 0;
  }
  double dbl(size_t i) {
    double d = 0;
    if (ok && napi_get_value_double(env, argv[i], &d) != napi_ok) fail("expected a number");
    return d;
  }
  /** A typed array of the given type: its data and length in elements. */
  void* array(size_t i, napi_typedarray_type want, size_t* len, const char* what) {
    if (!ok) return nullptr;
    napi_typedarray_type type;
    void* data = nullptr;
    bool is = false;
    napi_is_typedarray(env, argv[i], &is);
    if (!is || napi_get_typedarray_info(env, argv[i], &type, len, &data, nullptr, nullptr) != napi_ok || type != want) {
      fail(what);
      return nullptr;
    }
    return data;
  }
  float* f32(size_t i, size_t* len) { return static_cast<float*>(array(i, napi_float32_array, len, "expected a Float32Array")); }
  uint8_t* u8(size_t i, size_t* len) { return static_cast<uint8_t*>(array(i, napi_uint8_array, len, "expected a Uint8Array")); }
  int32_t* i32(size_t i, size_t* len) { return static_cast<int32_t*>(array(i, napi_int32_array, len, "expected an Int32Array")); }
};

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/** Read the iteration space of nops operands from the meta buffer. */
bool read_space(Args& a, int nops, Space& s) {
  if (!a.ok) return false;
  const double* meta = a.meta;
  if (!meta || a.meta_len < 1) { a.fail("setMeta was not called"); return false; }
  int nd = (int)meta[0];
  if (nd < 0 || nd > MAX_DIMS || (size_t)(1 + nd * (1 + nops)) > a.meta_len) { a.fail("bad view rank"); return false; }
  s.nd = nd;
  s.nops = nops;
  for (int d = 0; d < nd; d++) {
    s.shape[d] = (long)meta[1 + d];
    if (s.shape[d] < 0) { a.fail("negative dimension"); return false; }
  }
  for (int k = 0; k < nops; k++)
    for (int d = 0; d < nd; d++) s.strides[k][d] = (long)meta[1 + nd * (1 + k) + d];
  return true;
}

/** Operand k of s, starting at element off, must lie inside an array of len elements. */
bool check_operand(Args& a, const Space& s, int k, long off, size_t len) {
  if (!a.ok) return false;
  if (numel(s) == 0) return true;
  long lo = off, hi = off;
  for (int d = 0; d < s.nd; d++) {
    long ext = (s.shape[d] - 1) * s.strides[k][d];
    if (ext < 0) lo += ext; else hi += ext;
  }
  if (lo < 0 || hi >= (long)len) { a.fail("view out of the bounds of its array"); return false; }
  return true;
}

bool check_out(Args& a, const Space& s, size_t len) {
  if (!a.ok) return false;
  if ((size_t)numel(s) > len) { a.fail("output array too small"); return false; }
  return true;
}

// ------------------------------------------------------------------ entry points

napi_value SetMeta(napi_env env, napi_callback_info info) {
  Args a(env, info, 1);
  size_t len = 0;
  void* p = a.array(0, napi_float64_array, &len, "expected a Float64Array");
  if (!a.ok) return nullptr;
  EnvState* st = a.state;
  if (!st) { a.fail("addon state missing"); return nullptr; }
  if (st->meta_ref) napi_delete_reference(env, st->meta_ref);
  napi_create_reference(env, a.argv[0], 1, &st->meta_ref); // keeps the buffer (and so the pointer) alive
  st->meta = static_cast<const double*>(p);
  st->meta_len = len;
  return undefined(env);
}

napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a(env, info, 15);
  long batch = a.num(0), M = a.num(1), N = a.num(2), K = a.num(3);
  size_t la, lb, lc;
  const float* A = a.f32(4, &la);
  long aOff = a.num(5), lda = a.num(6);
  bool ta = a.num(7) != 0;
  long aBS = a.num(8);
  const float* B = a.f32(9, &lb);
  long bOff = a.num(10), ldb = a.num(11);
  bool tb = a.num(12) != 0;
  long bBS = a.num(13);
  float* C = a.f32(14, &lc);
  if (!a.ok) return nullptr;
  if (batch < 0 || M < 0 || N < 0 || K < 0 || lda < 0 || ldb < 0 || aBS < 0 || bBS < 0 || aOff < 0 || bOff < 0) {
    a.fail("gemm: negative size");
    return nullptr;
  }
  if (batch == 0 || M == 0 || N == 0) return undefined(env);
  if ((size_t)(batch * M * N) > lc) { a.fail("gemm: output array too small"); return nullptr; }
  if (K > 0) {
    // the last element each operand reads
    long aLast = aOff + (batch - 1) * aBS + (ta ? (K - 1) * lda + (M - 1) : (M - 1) * lda + (K - 1));
    long bLast = bOff + (batch - 1) * bBS + (tb ? (N - 1) * ldb + (K - 1) : (K - 1) * ldb + (N - 1));
    if (aLast >= (long)la || bLast >= (long)lb) { a.fail("gemm: operand out of the bounds of its array"); return nullptr; }
  }
  gemm(active, batch, M, N, K, A + aOff, lda, ta, aBS, B + bOff, ldb, tb, bBS, C);
  return undefined(env);
}

napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  long op = a.num(0);
  size_t lx, lo;
  const float* x = a.f32(1, &lx);
  long xOff = a.num(2);
  float* out = a.f32(3, &lo);
  Space s;
  if (!read_space(a, 1, s) || !check_operand(a, s, 0, xOff, lx) || !check_out(a, s, lo)) return nullptr;
  if (op < 0 || op >= U_COUNT) { a.fail("unknown unary op"); return nullptr; }
  coalesce(s);
  ew_unary(active, (int)op, x + xOff, s, out);
  return undefined(env);
}

napi_value IsNan(napi_env env, napi_callback_info info) {
  Args a(env, info, 3);
  size_t lx, lo;
  const float* x = a.f32(0, &lx);
  long xOff = a.num(1);
  uint8_t* out = a.u8(2, &lo);
  Space s;
  if (!read_space(a, 1, s) || !check_operand(a, s, 0, xOff, lx) || !check_out(a, s, lo)) return nullptr;
  coalesce(s);
  ew_isnan(active, x + xOff, s, out);
  return undefined(env);
}

napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  long op = a.num(0);
  size_t la, lb, lo;
  const float* A = a.f32(1, &la);
  long aOff = a.num(2);
  const float* B = a.f32(3, &lb);
  long bOff = a.num(4);
  if (!a.ok) return nullptr;
  if (op < 0 || op >= B_COUNT) { a.fail("unknown binary op"); return nullptr; }
  void* out = op >= B_EQ ? static_cast<void*>(a.u8(5, &lo)) : static_cast<void*>(a.f32(5, &lo));
  Space s;
  if (!read_space(a, 2, s) || !check_operand(a, s, 0, aOff, la) || !check_operand(a, s, 1, bOff, lb) ||
      !check_out(a, s, lo))
    return nullptr;
  coalesce(s);
  ew_binary(active, (int)op, A + aOff, B + bOff, s, out);
  return undefined(env);
}

napi_value Where(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  size_t lc, la, lb, lo;
  const uint8_t* C = a.u8(0, &lc);
  long cOff = a.num(1);
  const float* A = a.f32(2, &la);
  long aOff = a.num(3);
  const float* B = a.f32(4, &lb);
  long bOff = a.num(5);
  float* out = a.f32(6, &lo);
  Space s;
  if (!read_space(a, 3, s) || !check_operand(a, s, 0, cOff, lc) || !check_operand(a, s, 1, aOff, la) ||
      !check_operand(a, s, 2, bOff, lb) || !check_out(a, s, lo))
    return nullptr;
  coalesce(s);
  ew_where(active, C + cOff, A + aOff, B + bOff, s, out);
  return undefined(env);
}

napi_value Copy(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  size_t ls, ld;
  const float* src = a.f32(0, &ls);
  long sOff = a.num(1);
  float* dst = a.f32(2, &ld);
  long dOff = a.num(3);
  Space s;
  if (!read_space(a, 2, s) || !check_operand(a, s, 0, sOff, ls) || !check_operand(a, s, 1, dOff, ld)) return nullptr;
  coalesce(s);
  ew_copy(src + sOff, s, dst + dOff);
  return undefined(env);
}

napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  long op = a.num(0);
  size_t lx, lo;
  const float* x = a.f32(1, &lx);
  long xOff = a.num(2), outer = a.num(3), n = a.num(4), inner = a.num(5);
  if (!a.ok) return nullptr;
  if (op < 0 || op >= R_COUNT) { a.fail("unknown reduction"); return nullptr; }
  void* out = op >= R_ARGMAX ? static_cast<void*>(a.i32(6, &lo)) : static_cast<void*>(a.f32(6, &lo));
  if (!a.ok) return nullptr;
  if (outer < 0 || n < 0 || inner < 0 || xOff < 0) { a.fail("reduce: negative size"); return nullptr; }
  if (n == 0 && op != R_SUM && op != R_PROD) { a.fail("reduce: empty dimension"); return nullptr; }
  if ((size_t)(outer * inner) > lo || (outer * n * inner > 0 && (size_t)(xOff + outer * n * inner) > lx)) {
    a.fail("reduce: array too small");
    return nullptr;
  }
  reduce(active, (int)op, x + xOff, outer, n, inner, out);
  return undefined(env);
}

/** A Float32Array of at least n elements, or null/undefined (allowed when optional). */
float* f32_at_least(Args& a, size_t i, long n, bool optional) {
  if (!a.ok) return nullptr;
  napi_valuetype t;
  napi_typeof(a.env, a.argv[i], &t);
  if (optional && (t == napi_null || t == napi_undefined)) return nullptr;
  size_t len = 0;
  float* p = a.f32(i, &len);
  if (a.ok && (long)len < n) a.fail("optimizer step: array shorter than n");
  return p;
}

// gatherRowsU8(src, row, rows, table, out): dataset rows decoded from bytes through a 256-entry table
napi_value GatherRowsU8(napi_env env, napi_callback_info info) {
  Args a(env, info, 5);
  size_t srcLen = 0, rowsLen = 0, tableLen = 0, outLen = 0;
  const uint8_t* src = a.u8(0, &srcLen);
  long row = a.num(1);
  const int32_t* rows = a.i32(2, &rowsLen);
  const float* table = a.f32(3, &tableLen);
  float* out = a.f32(4, &outLen);
  if (a.ok && (row < 0 || tableLen < 256 || (long)outLen < (long)rowsLen * row)) a.fail("gatherRowsU8: bad sizes");
  long n = a.ok && row > 0 ? (long)srcLen / row : 0;
  for (size_t k = 0; a.ok && row > 0 && k < rowsLen; k++)
    if (rows[k] < 0 || rows[k] >= n) a.fail("gatherRowsU8: row out of range");
  if (!a.ok) return nullptr;
  gather_rows_u8(src, row, rows, (long)rowsLen, table, out);
  return undefined(env);
}

// sgdStep(param, grad, buf | null, n, lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep)
napi_value SgdStep(napi_env env, napi_callback_info info) {
  Args a(env, info, 11);
  long n = a.num(3);
  if (a.ok && n < 0) a.fail("optimizer step: negative n");
  float* p = f32_at_least(a, 0, n, false);
  const float* g = f32_at_least(a, 1, n, false);
  float* buf = f32_at_least(a, 2, n, true);
  SgdParams q;
  q.lr = (float)a.dbl(4); q.momentum = (float)a.dbl(5); q.dampening = (float)a.dbl(6); q.weight_decay = (float)a.dbl(7);
  q.nesterov = a.num(8) != 0; q.maximize = a.num(9) != 0; q.first = a.num(10) != 0;
  if (!a.ok) return nullptr;
  sgd_step(active, q, p, g, buf, n);
  return undefined(env);
}

// adamStep(param, grad, m, v, vmax | null, n, lr, beta1, beta2, eps, weightDecay, stepSize, invSqrtBc2, decoupled, maximize)
napi_value AdamStep(napi_env env, napi_callback_info info) {
  Args a(env, info, 15);
  long n = a.num(5);
  if (a.ok && n < 0) a.fail("optimizer step: negative n");
  float* p = f32_at_least(a, 0, n, false);
  const float* g = f32_at_least(a, 1, n, false);
  float* m = f32_at_least(a, 2, n, false);
  float* v = f32_at_least(a, 3, n, false);
  float* vmax = f32_at_least(a, 4, n, true);
  AdamParams q;
  q.lr = (float)a.dbl(6); q.beta1 = (float)a.dbl(7); q.beta2 = (float)a.dbl(8); q.eps = (float)a.dbl(9);
  q.weight_decay = (float)a.dbl(10); q.step_size = (float)a.dbl(11); q.inv_sqrt_bc2 = (float)a.dbl(12);
  q.decoupled = a.num(13) != 0; q.maximize = a.num(14) != 0;
  if (!a.ok) return nullptr;
  adam_step(active, q, p, g, m, v, vmax, n);
  return undefined(env);
}

// activationGrad(op, y, yOff, g, gOff, out); meta: 2 operands
napi_value ActivationGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  long op = a.num(0);
  size_t ly, lg, lo;
  const float* y = a.f32(1, &ly);
  long yOff = a.num(2);
  const float* g = a.f32(3, &lg);
  long gOff = a.num(4);
  float* out = a.f32(5, &lo);
  Space s;
  if (!read_space(a, 2, s) || !check_operand(a, s, 0, yOff, ly) || !check_operand(a, s, 1, gOff, lg) || !check_out(a, s, lo))
    return nullptr;
  if (op != 0 && op != 1) { a.fail("activationGrad: unknown activation"); return nullptr; }
  coalesce(s);
  ew_act_grad(active, (int)op, y + yOff, g + gOff, s, out);
  return undefined(env);
}

// bceForward(p, pOff, y, yOff, out) → first bad position or −1; meta: 2 operands
napi_value BceForward(napi_env env, napi_callback_info info) {
  Args a(env, info, 5);
  size_t lp, ly, lo;
  const float* p = a.f32(0, &lp);
  long pOff = a.num(1);
  const float* y = a.f32(2, &ly);
  long yOff = a.num(3);
  float* out = a.f32(4, &lo);
  Space s;
  if (!read_space(a, 2, s) || !check_operand(a, s, 0, pOff, lp) || !check_operand(a, s, 1, yOff, ly) || !check_out(a, s, lo))
    return nullptr;
  coalesce(s);
  napi_value r;
  napi_create_double(env, (double)ew_bce_forward(active, p + pOff, y + yOff, s, out), &r);
  return r;
}

// bceBackward(p, pOff, y, yOff, g, gOff, out); meta: 3 operands
napi_value BceBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  size_t lp, ly, lg, lo;
  const float* p = a.f32(0, &lp);
  long pOff = a.num(1);
  const float* y = a.f32(2, &ly);
  long yOff = a.num(3);
  const float* g = a.f32(4, &lg);
  long gOff = a.num(5);
  float* out = a.f32(6, &lo);
  Space s;
  if (!read_space(a, 3, s) || !check_operand(a, s, 0, pOff, lp) || !check_operand(a, s, 1, yOff, ly) ||
      !check_operand(a, s, 2, gOff, lg) || !check_out(a, s, lo))
    return nullptr;
  coalesce(s);
  ew_bce_backward(active, p + pOff, y + yOff, g + gOff, s, out);
  return undefined(env);
}

// ------------------------------------------------------------------ batch norm (meta: a rank-3 space [N, C, S])

double* f64_at_least(Args& a, size_t i, long n, bool optional) {
  if (!a.ok) return nullptr;
  napi_valuetype t;
  napi_typeof(a.env, a.argv[i], &t);
  if (optional && (t == napi_null || t == napi_undefined)) return nullptr;
  size_t len = 0;
  double* p = static_cast<double*>(a.array(i, napi_float64_array, &len, "expected a Float64Array"));
  if (a.ok && (long)len < n) a.fail("batch norm: statistics array too short");
  return p;
}

bool read_bn_space(Args& a, int nops, Space& s) {
  if (!read_space(a, nops, s)) return false;
  if (s.nd != 3) { a.fail("batch norm: expected a [N, C, S] view"); return false; }
  return true;
}

// batchNormStats(x, xOff, mean, variance)
napi_value BatchNormStats(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  size_t lx;
  const float* x = a.f32(0, &lx);
  long xOff = a.num(1);
  Space s;
  if (!read_bn_space(a, 1, s) || !check_operand(a, s, 0, xOff, lx)) return nullptr;
  double* mean = f64_at_least(a, 2, s.shape[1], false);
  double* var = f64_at_least(a, 3, s.shape[1], false);
  if (!a.ok) return nullptr;
  if (s.shape[0] * s.shape[2] == 0) { a.fail("batch norm: no elements per channel"); return nullptr; }
  batch_norm_stats(x + xOff, s, mean, var);
  return undefined(env);
}

// channelAffine(x, xOff, scale, shift, out)
napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  Args a(env, info, 5);
  size_t lx, lo;
  const float* x = a.f32(0, &lx);
  long xOff = a.num(1);
  Space s;
  if (!read_bn_space(a, 1, s) || !check_operand(a, s, 0, xOff, lx)) return nullptr;
  const double* scale = f64_at_least(a, 2, s.shape[1], false);
  const double* shift = f64_at_least(a, 3, s.shape[1], false);
  float* out = a.f32(4, &lo);
  if (!check_out(a, s, lo)) return nullptr;
  channel_affine(x + xOff, s, scale, shift, out);
  return undefined(env);
}

// batchNormBackward(x, xOff, g, gOff, mean, invStd, scale, sums, out | null)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 9);
  size_t lx, lg, lo = 0;
  const float* x = a.f32(0, &lx);
  long xOff = a.num(1);
  const float* g = a.f32(2, &lg);
  long gOff = a.num(3);
  Space s;
  if (!read_bn_space(a, 2, s) || !check_operand(a, s, 0, xOff, lx) || !check_operand(a, s, 1, gOff, lg)) return nullptr;
  const long C = s.shape[1];
  const double* mean = f64_at_least(a, 4, C, false);
  const double* inv_std = f64_at_least(a, 5, C, false);
  const double* scale = f64_at_least(a, 6, C, false);
  double* sums = f64_at_least(a, 7, 2 * C, false);
  float* out = nullptr;
  if (a.ok) {
    napi_valuetype t;
    napi_typeof(env, a.argv[8], &t);
    if (t != napi_null && t != napi_undefined) { out = a.f32(8, &lo); if (!check_out(a, s, lo)) return nullptr; }
  }
  if (!a.ok) return nullptr;
  batch_norm_backward(x + xOff, g + gOff, s, mean, inv_std, scale, sums, out);
  return undefined(env);
}

// ------------------------------------------------------------------ convolution and pooling
// meta: [0..3] the image view's strides, [4..17] the geometry N, C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW

bool read_geometry(Args& a, Geometry& g, long* strides) {
  if (!a.ok) return false;
  if (!a.meta || a.meta_len < 18) { a.fail("setMeta was not called"); return false; }
  for (int i = 0; i < 4; i++) strides[i] = (long)a.meta[i];
  const double* m = a.meta + 4;
  g.N = (long)m[0]; g.C = (long)m[1]; g.H = (long)m[2]; g.W = (long)m[3]; g.kh = (long)m[4]; g.kw = (long)m[5];
  g.sh = (long)m[6]; g.sw = (long)m[7]; g.padTop = (long)m[8]; g.padLeft = (long)m[9]; g.dh = (long)m[10];
  g.dw = (long)m[11]; g.OH = (long)m[12]; g.OW = (long)m[13];
  bool ok = g.N >= 0 && g.C >= 0 && g.H >= 0 && g.W >= 0 && g.OH >= 0 && g.OW >= 0 && g.kh >= 1 && g.kw >= 1 &&
            g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1;
  if (!ok) a.fail("bad convolution geometry");
  return ok;
}

/** A [N, C, H, W] view with the given strides at off must lie inside an array of len elements. */
bool check_image(Args& a, const long* st, long N, long C, long H, long W, long off, size_t len) {
  Space s;
  s.nd = 4; s.nops = 1;
  s.shape[0] = N; s.shape[1] = C; s.shape[2] = H; s.shape[3] = W;
  for (int d = 0; d < 4; d++) s.strides[0][d] = st[d];
  return check_operand(a, s, 0, off, len);
}

bool need(Args& a, size_t len, long n, const char* what) {
  if (!a.ok) return false;
  if (n < 0 || (size_t)n > len) { a.fail(what); return false; }
  return true;
}

// im2col(x, xOffset, n0, nb, cols)
napi_value Im2col(napi_env env, napi_callback_info info) {
  Args a(env, info, 5);
  size_t lx, lc;
  const float* x = a.f32(0, &lx);
  long xOff = a.num(1), n0 = a.num(2), nb = a.num(3);
  float* cols = a.f32(4, &lc);
  Geometry g;
  long st[4];
  if (!read_geometry(a, g, st) || !check_image(a, st, g.N, g.C, g.H, g.W, xOff, lx)) return nullptr;
  if (n0 < 0 || nb < 0 || n0 + nb > g.N) { a.fail("im2col: images out of range"); return nullptr; }
  if (!need(a, lc, g.C * g.kh * g.kw * nb * g.OH * g.OW, "im2col: cols array too small")) return nullptr;
  im2col(active, x + xOff, st, g, n0, nb, cols);
  return undefined(env);
}

// col2im(cols, n0, nb, out)
napi_value Col2im(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  size_t lc, lo;
  const float* cols = a.f32(0, &lc);
  long n0 = a.num(1), nb = a.num(2);
  float* out = a.f32(3, &lo);
  Geometry g;
  long st[4];
  if (!read_geometry(a, g, st)) return nullptr;
  if (n0 < 0 || nb < 0 || n0 + nb > g.N) { a.fail("col2im: images out of range"); return nullptr; }
  if (!need(a, lc, g.C * g.kh * g.kw * nb * g.OH * g.OW, "col2im: cols array too small") ||
      !need(a, lo, g.N * g.C * g.H * g.W, "col2im: output array too small"))
    return nullptr;
  col2im(active, cols, g, n0, nb, out);
  return undefined(env);
}

// maxPool2d(x, xOffset, out, indices)
napi_value MaxPool2d(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  size_t lx, lo, li;
  const float* x = a.f32(0, &lx);
  long xOff = a.num(1);
  float* out = a.f32(2, &lo);
  int32_t* idx = a.i32(3, &li);
  Geometry g;
  long st[4];
  if (!read_geometry(a, g, st) || !check_image(a, st, g.N, g.C, g.H, g.W, xOff, lx)) return nullptr;
  long n = g.N * g.C * g.OH * g.OW;
  if (!need(a, lo, n, "maxPool2d: output array too small") || !need(a, li, n, "maxPool2d: indices array too small")) return nullptr;
  max_pool2d(active, x + xOff, st, g, out, idx);
  return undefined(env);
}

// maxPool2dBackward(g, gOffset, indices, H, W, out); meta [0..3] g's strides, [4..7] N, C, OH, OW
napi_value MaxPool2dBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  size_t lg, li, lo;
  const float* gr = a.f32(0, &lg);
  long gOff = a.num(1);
  const int32_t* idx = a.i32(2, &li);
  long H = a.num(3), W = a.num(4);
  float* out = a.f32(5, &lo);
  if (!a.ok) return nullptr;
  const double* meta = a.meta;
  if (!meta || a.meta_len < 8) { a.fail("setMeta was not called"); return nullptr; }
  long st[4], N = (long)meta[4], C = (long)meta[5], OH = (long)meta[6], OW = (long)meta[7];
  for (int i = 0; i < 4; i++) st[i] = (long)meta[i];
  if (N < 0 || C < 0 || OH < 0 || OW < 0 || H < 0 || W < 0) { a.fail("maxPool2dBackward: negative size"); return nullptr; }
  if (!check_image(a, st, N, C, OH, OW, gOff, lg) || !need(a, li, N * C * OH * OW, "maxPool2dBackward: indices array too small") ||
      !need(a, lo, N * C * H * W, "maxPool2dBackward: output array too small"))
    return nullptr;
  if (!max_pool2d_backward(active, gr + gOff, st, N, C, OH, OW, idx, H, W, out)) {
    a.fail("maxPool2dBackward: an index lies outside its plane");
    return nullptr;
  }
  return undefined(env);
}

/** Argument i as a Float32Array of at least n elements, or nullptr when it is null/undefined (sets a.ok on error). */
/** Argument i as a float32 array with its length, or null (length 0) when it is null or undefined. */
float* optional_f32(Args& a, size_t i, size_t* len) {
  *len = 0;
  if (!a.ok) return nullptr;
  napi_valuetype t;
  napi_typeof(a.env, a.argv[i], &t);
  if (t == napi_null || t == napi_undefined) return nullptr;
  return a.f32(i, len);
}

float* optional_f32(Args& a, size_t i, long n, const char* what) {
  size_t len;
  float* p = optional_f32(a, i, &len);
  return p && need(a, len, n, what) ? p : nullptr;
}

// reluGrad(y, yOffset, g, gOffset, out, n)
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  size_t ly, lg, lo;
  const float* y = a.f32(0, &ly);
  long yOff = a.num(1);
  const float* g = a.f32(2, &lg);
  long gOff = a.num(3);
  float* out = a.f32(4, &lo);
  long n = a.num(5);
  if (!a.ok) return nullptr;
  if (yOff < 0 || gOff < 0 || !need(a, ly, yOff + n, "reluGrad: y array too small") ||
      !need(a, lg, gOff + n, "reluGrad: g array too small") || !need(a, lo, n, "reluGrad: output array too small"))
    return nullptr;
  relu_grad(y + yOff, g + gOff, out, n);
  return undefined(env);
}

/** The operands of a forward convolution call (x, xOffset, w, wOffset, bias | null, biasOffset, O, out), checked. */
struct ConvForward {
  Geometry g;
  long st[4];
  const float* x;
  const float* w;
  const float* bias;
  long O;
  float* out;
};

/** Set a range error "<op>: <what>" (built only when a check fails) and return false. */
static bool fail_op(Args& a, const char* op, const char* what) {
  char msg[128];
  snprintf(msg, sizeof(msg), "%s: %s", op, what);
  a.fail(msg);
  return false;
}

// meta as im2col's; false (with the error set) when an operand does not fit the geometry
static bool read_conv_forward(Args& a, const char* op, ConvForward& c) {
  size_t lx, lw, lo;
  c.x = a.f32(0, &lx);
  long xOff = a.num(1);
  c.w = a.f32(2, &lw);
  long wOff = a.num(3), bOff = a.num(5);
  c.O = a.num(6);
  c.out = a.f32(7, &lo);
  if (!read_geometry(a, c.g, c.st) || !check_image(a, c.st, c.g.N, c.g.C, c.g.H, c.g.W, xOff, lx)) return false;
  if (c.O < 0 || wOff < 0 || bOff < 0) return fail_op(a, op, "negative size or offset");
  size_t lb;
  c.bias = optional_f32(a, 4, &lb);
  if (c.bias && (size_t)(bOff + c.O) > lb) return fail_op(a, op, "bias array too small");
  if (c.bias) c.bias += bOff;
  if ((size_t)(wOff + c.O * c.g.C * c.g.kh * c.g.kw) > lw) return fail_op(a, op, "weight array too small");
  if ((size_t)(c.g.N * c.O * c.g.OH * c.g.OW) > lo) return fail_op(a, op, "output array too small");
  c.x += xOff;
  c.w += wOff;
  return a.ok;
}

// convDirect(x, xOffset, w, wOffset, bias | null, biasOffset, O, out); meta as im2col's
napi_value ConvDirect(napi_env env, napi_callback_info info) {
  Args a(env, info, 8);
  ConvForward c;
  if (!read_conv_forward(a, "convDirect", c)) return nullptr;
  if (!conv_direct_fits(c.g) || c.st[3] != 1) { a.fail("convDirect: geometry not supported"); return nullptr; }
  conv_direct(active, c.x, c.st, c.g, c.w, c.O, c.bias, c.out);
  return undefined(env);
}

/** The operands of a weight-gradient call (x, xOffset, gy, gyOffset, O, gw, gb | null); gy's extent is the caller's to check. */
struct ConvWeightGrad {
  Geometry g;
  long st[4];
  const float* x;
  const float* gy;
  size_t gyLen;
  long gyOff;
  long O;
  float* gw;
  float* gb;
};

// meta as im2col's; false (with the error set) when an operand does not fit the geometry
static bool read_conv_weight_grad(Args& a, const char* op, ConvWeightGrad& c) {
  size_t lx, lw;
  c.x = a.f32(0, &lx);
  long xOff = a.num(1);
  c.gy = a.f32(2, &c.gyLen);
  c.gyOff = a.num(3);
  c.O = a.num(4);
  c.gw = a.f32(5, &lw);
  if (!read_geometry(a, c.g, c.st) || !check_image(a, c.st, c.g.N, c.g.C, c.g.H, c.g.W, xOff, lx)) return false;
  if (c.O < 0 || c.gyOff < 0) return fail_op(a, op, "negative size or offset");
  if ((size_t)(c.O * c.g.C * c.g.kh * c.g.kw) > lw) return fail_op(a, op, "weight gradient array too small");
  size_t lb;
  c.gb = optional_f32(a, 6, &lb);
  if (c.gb && (size_t)c.O > lb) return fail_op(a, op, "bias gradient array too small");
  c.x += xOff;
  return a.ok;
}

// convDirectWeightGrad(x, xOffset, gy, gyOffset, O, gw, gb | null); meta as im2col's, then gy's strides at [18..21]
napi_value ConvDirectWeightGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  ConvWeightGrad c;
  if (!read_conv_weight_grad(a, "convDirectWeightGrad", c)) return nullptr;
  if (a.meta_len < 22) { a.fail("setMeta was not called"); return nullptr; }
  long sg[4];
  for (int i = 0; i < 4; i++) sg[i] = (long)a.meta[18 + i];
  if (!conv_direct_fits(c.g) || c.st[3] != 1 || sg[3] != 1) { a.fail("convDirectWeightGrad: geometry not supported"); return nullptr; }
  if (!check_image(a, sg, c.g.N, c.O, c.g.OH, c.g.OW, c.gyOff, c.gyLen)) return nullptr;
  conv_direct_weight_grad(active, c.x, c.st, c.g, c.gy + c.gyOff, sg, c.O, c.gw, c.gb);
  return undefined(env);
}

napi_value boolean(napi_env env, bool v) {
  napi_value r;
  napi_get_boolean(env, v, &r);
  return r;
}

// convGemm(x, xOffset, w, wOffset, bias | null, biasOffset, O, out) → whether it ran; meta as im2col's
napi_value ConvGemm(napi_env env, napi_callback_info info) {
  Args a(env, info, 8);
  ConvForward c;
  if (!read_conv_forward(a, "convGemm", c)) return nullptr;
  return boolean(env, conv_gemm(active, c.x, c.st, c.g, c.w, c.O, c.bias, c.out));
}

// convGemmInputGrad(gy, gyOffset, w, wOffset, O, out) → whether it ran; meta as col2im's, gy contiguous
napi_value ConvGemmInputGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  size_t lg, lw, lo;
  const float* gy = a.f32(0, &lg);
  long gOff = a.num(1);
  const float* w = a.f32(2, &lw);
  long wOff = a.num(3), O = a.num(4);
  float* out = a.f32(5, &lo);
  Geometry g;
  long st[4];
  if (!read_geometry(a, g, st)) return nullptr;
  if (O < 0 || wOff < 0 || gOff < 0) { a.fail("convGemmInputGrad: negative size or offset"); return nullptr; }
  if (!need(a, lg, gOff + g.N * O * g.OH * g.OW, "convGemmInputGrad: output gradient array too small") ||
      !need(a, lw, wOff + O * g.C * g.kh * g.kw, "convGemmInputGrad: weight array too small") ||
      !need(a, lo, g.N * g.C * g.H * g.W, "convGemmInputGrad: output array too small"))
    return nullptr;
  return boolean(env, conv_gemm_input_grad(active, gy + gOff, g, w + wOff, O, out));
}

// convGemmWeightGrad(x, xOffset, gy, gyOffset, O, gw, gb | null) → whether it ran; meta as im2col's, gy contiguous
napi_value ConvGemmWeightGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  ConvWeightGrad c;
  if (!read_conv_weight_grad(a, "convGemmWeightGrad", c)) return nullptr;
  if (!need(a, c.gyLen, c.gyOff + c.g.N * c.O * c.g.OH * c.g.OW, "convGemmWeightGrad: output gradient array too small")) return nullptr;
  return boolean(env, conv_gemm_weight_grad(active, c.x, c.st, c.g, c.gy + c.gyOff, c.O, c.gw, c.gb));
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info, 1);
  char name[32] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, a.argv[0], name, sizeof(name), &len) != napi_ok) { a.fail("expected a string"); return nullptr; }
  bool ok = false;
  if (strcmp(name, "avx512") == 0 && cpu_has_avx512()) { active = kernels_avx512(); ok = true; }
  if (strcmp(name, "avx2") == 0 && cpu_has_avx2()) { active = kernels_avx2(); ok = true; }
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, 1);
  long n = a.num(0);
  if (!a.ok) return nullptr;
  pool_set_threads((int)n);
  return undefined(env);
}

napi_value SetTuning(napi_env env, napi_callback_info info) {
  Args a(env, info, 3);
  double gemmFlops = a.dbl(0), ewElements = a.dbl(1), spin = a.dbl(2);
  if (!a.ok) return nullptr;
  if (a.argc >= 5) gemm_set_blocking((long)a.dbl(3), (long)a.dbl(4));
  if (gemmFlops >= 0) gemm_set_parallel_threshold(gemmFlops);
  if (ewElements >= 0) ew_set_parallel_threshold((long)ewElements);
  if (spin >= 0) pool_set_spin_us((int)spin);
  return undefined(env);
}

napi_value string_list(napi_env env, const char* const* names, int n) {
  napi_value arr;
  napi_create_array_with_length(env, (size_t)n, &arr);
  for (int i = 0; i < n; i++) {
    napi_value s;
    napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, (uint32_t)i, s);
  }
  return arr;
}

void set_num(napi_env env, napi_value obj, const char* key, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, obj, key, x);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, s;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, active->isa, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, obj, "isa", s);
  const char* isas[2];
  int n = 0;
  if (cpu_has_avx512()) isas[n++] = "avx512";
  if (cpu_has_avx2()) isas[n++] = "avx2";
  napi_set_named_property(env, obj, "isas", string_list(env, isas, n));
  set_num(env, obj, "threads", pool_threads());
  set_num(env, obj, "cpus", pool_cpu_count());
  set_num(env, obj, "mr", active->mr);
  set_num(env, obj, "nr", active->nr);
  set_num(env, obj, "spinUs", pool_spin_us());
  set_num(env, obj, "gemmParallelFlops", gemm_parallel_threshold());
  set_num(env, obj, "gemmKc", (double)gemm_kc());
  set_num(env, obj, "gemmNc", (double)gemm_nc());
  set_num(env, obj, "parallelElements", (double)ew_parallel_threshold());
  set_num(env, obj, "maxDims", MAX_DIMS);
  PoolStats ps = pool_stats();
  set_num(env, obj, "poolJobs", (double)ps.jobs);
  set_num(env, obj, "poolStalls", (double)ps.stalls);
  set_num(env, obj, "poolSerialJobs", (double)ps.serial_jobs);
  napi_set_named_property(env, obj, "unary", string_list(env, kUnaryNames, U_COUNT));
  napi_set_named_property(env, obj, "binary", string_list(env, kBinaryNames, B_COUNT));
  napi_set_named_property(env, obj, "reduce", string_list(env, kReduceNames, R_COUNT));
  return obj;
}

} // namespace
} // namespace nabla

/**
 * Tensor storage comes from malloc (V8 allocates ArrayBuffers with calloc). By default glibc serves
 * blocks over 128 KiB with a fresh mmap and unmaps them on free, so every new large tensor is paid for
 * again in page faults (measured here: a fresh 5.5 MB array costs 25–60 ms to touch, a reused one 0.3 ms).
 * Serve blocks up to 32 MiB from the heap and keep freed memory, as a caching allocator would.
 * NABLA_MALLOC_TUNING=0 leaves malloc alone.
 */
static void tune_malloc() {
#if defined(__GLIBC__)
  static bool done = false;
  if (done) return;
  done = true;
  const char* env = getenv("NABLA_MALLOC_TUNING");
  if (env && strcmp(env, "0") == 0) return;
  if (getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_")) return; // the user tuned it
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  // Fresh heap pages are paid for once, at the first touch: about 11 µs per 4 KiB page fault on the development
  // VM, so the first ~50 MB of tensors (until V8's collector starts handing memory back) cost ~150 ms. Grow the
  // heap by 256 MiB of address space now (nothing is touched: RSS is unchanged) and ask for transparent huge
  // pages there, one fault per 2 MiB (about 0.1 ms). Without THP (or with `never`) the advice does nothing.
  const size_t pad = (size_t)256 << 20, huge = (size_t)2 << 20;
  char* before = static_cast<char*>(sbrk(0));
  mallopt(M_TOP_PAD, (int)pad);
  static void* volatile probe; // volatile: the compiler may not drop the malloc/free pair
  probe = malloc((size_t)16 << 20);
  free(probe);
  mallopt(M_TOP_PAD, 128 * 1024);
  char* after = static_cast<char*>(sbrk(0));
  if (before != (char*)-1 && after != (char*)-1 && after > before) {
    uintptr_t lo = ((uintptr_t)before + huge - 1) & ~(uintptr_t)(huge - 1), hi = (uintptr_t)after & ~(uintptr_t)(huge - 1);
    if (hi > lo) madvise((void*)lo, hi - lo, MADV_HUGEPAGE);
  }
#endif
}

NAPI_MODULE_INIT() {
  using namespace nabla;
  tune_malloc();
  if (!active) {
    const char* want = getenv("NABLA_NATIVE_ISA");
    if (want && strcmp(want, "avx2") == 0 && cpu_has_avx2()) active = kernels_avx2();
    else if (cpu_has_avx512()) active = kernels_avx512();
    else if (cpu_has_avx2()) active = kernels_avx2();
  }
  if (!active) {
    napi_throw_error(env, nullptr, "this CPU lacks AVX2/FMA, which the native backend needs");
    return nullptr;
  }
  napi_set_instance_data(env, new EnvState(), [](napi_env, void* d, void*) { delete static_cast<EnvState*>(d); }, nullptr);
  struct Fn { const char* name; napi_callback cb; };
  const Fn fns[] = {
    {"setMeta", SetMeta}, {"gemm", Gemm}, {"unary", Unary}, {"isnan", IsNan}, {"binary", Binary},
    {"where", Where}, {"copy", Copy}, {"reduce", Reduce}, {"setIsa", SetIsa}, {"setThreads", SetThreads},
    {"setTuning", SetTuning}, {"info", Info}, {"sgdStep", SgdStep}, {"adamStep", AdamStep},
    {"activationGrad", ActivationGrad}, {"bceForward", BceForward}, {"bceBackward", BceBackward},
    {"batchNormStats", BatchNormStats}, {"channelAffine", ChannelAffine}, {"batchNormBackward", BatchNormBackward},
    {"im2col", Im2col}, {"col2im", Col2im}, {"maxPool2d", MaxPool2d}, {"maxPool2dBackward", MaxPool2dBackward},
    {"gatherRowsU8", GatherRowsU8},
    {"reluGrad", ReluGrad}, {"convDirect", ConvDirect}, {"convDirectWeightGrad", ConvDirectWeightGrad},
    {"convGemm", ConvGemm}, {"convGemmInputGrad", ConvGemmInputGrad}, {"convGemmWeightGrad", ConvGemmWeightGrad},
  };
  for (const Fn& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}
