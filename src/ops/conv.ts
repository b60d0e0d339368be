/**
 * conv2d over NCHW images: im2col (a kernel) + one gemm per chunk of images, so it runs on the active
 * backend's matmul. The weight is [out, in/groups, kh, kw] as in PyTorch; groups are the gemm's batch.
 *
 * Three recorded ops close under differentiation, so gradients of gradients work:
 *   y  = conv(x, w)            ∂/∂x → convInputGrad(g, w)    ∂/∂w → convWeightGrad(x, g)
 *   gx = convInputGrad(g, w)   ∂/∂g → conv(h, w)             ∂/∂w → convWeightGrad(h, g)
 *   gw = convWeightGrad(x, g)  ∂/∂x → convInputGrad(g, h)    ∂/∂g → conv(x, h)
 */
import { backend, type Conv2dGeometry, type View } from '../backend/backend.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { record } from '../autograd/node.js';
import { type DType, type TypedArray, allocateUninitialized, isFloat } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { sum } from './reduce.js';
import { squeeze, unsqueeze } from './shape.js';
import { empty, uninitialized } from './util.js';

/** A size given once for both spatial dims, or as [height, width]. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Step between windows. Default 1. */
  stride?: Pair;
  /** Zeros added on each side, or 'same' (output size = input size, stride 1 only) / 'valid' (no padding). Default 0. */
  padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps. Default 1. */
  dilation?: Pair;
  /** Split channels into independent groups (in and out channels must both divide). Default 1. */
  groups?: number;
}

/** Validate a number-or-pair option: integers ≥ min. */
export function pair(v: Pair | undefined, fallback: Pair, op: string, name: string, min: number): [number, number] {
  const p = v ?? fallback;
  const r: [number, number] = typeof p === 'number' ? [p, p] : [p[0], p[1]];
  if ((typeof p !== 'number' && (!Array.isArray(p) || p.length !== 2)) || !r.every((k) => Number.isInteger(k) && k >= min)) {
    throw new Error(`${op}: ${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return r;
}

/**
 * Elements of cols held at once: chunks of images keep the im2col buffer about the size of a core's L2 cache
 * (1 MiB), so the product reads what im2col just wrote from cache rather than from memory.
 */
const COLS_LIMIT = 1 << 18;

/** Images per chunk: as few equal chunks as keep cols under COLS_LIMIT. */
function imagesPerChunk(g: Conv2dGeometry): number {
  const perImage = Math.max(g.C * g.kh * g.kw * g.OH * g.OW, 1);
  const chunks = Math.max(1, Math.ceil((g.N * perImage) / COLS_LIMIT));
  return Math.max(1, Math.ceil(g.N / chunks));
}

/**
 * Reused work buffers for cols and permuted rows, one per slot and dtype. A fresh multi-megabyte array
 * costs more than the kernel that fills it (the pages are faulted in and zeroed), so these are kept; each
 * is used only inside one synchronous raw function below, never across calls.
 */
const scratch = new Map<string, TypedArray>();
function work(slot: 'cols' | 'rows' | 'part' | 'wb' | 'acc', dtype: DType, size: number): TypedArray {
  const key = `${slot}:${dtype}`;
  let b = scratch.get(key);
  if (!b || b.length < size) scratch.set(key, (b = allocateUninitialized(dtype, size)));
  return b.subarray(0, size);
}

/**
 * Set cols[from … to) to 1 (the row of ones that carries the bias through a product) with the backend's copy kernel,
 * not a JavaScript fill: a compiled step replays only kernel calls, and another convolution's im2col may have used
 * the same work buffer in between.
 */
function fillOnes(cols: TypedArray, from: number, to: number): void {
  const one = cols instanceof Float64Array ? ONE_F64 : ONE_F32;
  backend().copy({ data: one, shape: [to - from], strides: [0], offset: 0 }, { data: cols, shape: [to - from], strides: [1], offset: from });
}
const ONE_F32 = Float32Array.of(1), ONE_F64 = Float64Array.of(1);

/** The contiguous storage of t (t itself, or a copy). */
function dense(t: Tensor): View {
  if (t.isContiguous()) return t;
  const out = empty(t.shape, t.dtype);
  backend().copy(t, out);
  return out;
}

/** g[n0 … n0+nb] ([nb, O, L] inside g [N, O, OH, OW]) as a [O, nb·L] matrix, the layout the gemm produces. */
function gradAsRows(g: Tensor, n0: number, nb: number, O: number, L: number): TypedArray {
  const [sN, sO, sH, sW] = g.strides as [number, number, number, number];
  const OW = g.shape[3]!;
  if (nb === 1 && g.isContiguous()) return g.data.subarray(g.offset + n0 * O * L, g.offset + (n0 + 1) * O * L);
  const buf = work('rows', g.dtype, O * nb * L);
  backend().copy(
    { data: g.data, shape: [O, nb, g.shape[2]!, OW], strides: [sO, sN, sH, sW], offset: g.offset + n0 * sN },
    { data: buf, shape: [O, nb, g.shape[2]!, OW], strides: [nb * L, L, OW, 1], offset: 0 },
  );
  return buf;
}

/**
 * Layers whose window holds at most this many values (C·kh·kw: a first layer on 1–3 channels) run the backend's
 * direct kernels when it has them: a product with so short an inner dimension is all packing and no arithmetic.
 */
const DIRECT_MAX_K = 32;

const direct = (geo: Conv2dGeometry, groups: number): boolean => groups === 1 && geo.C * geo.kh * geo.kw <= DIRECT_MAX_K;

/** [W | b]: the weight [O, K] with the bias as one more column, so the product adds it (cols get a row of ones). */
function weightWithBias(w: View, bias: Tensor, O: number, K: number): TypedArray {
  const wb = work('wb', w.data instanceof Float64Array ? 'float64' : 'float32', O * (K + 1)), be = backend();
  be.copy({ data: w.data, shape: [O, K], strides: [K, 1], offset: w.offset }, { data: wb, shape: [O, K], strides: [K + 1, 1], offset: 0 });
  be.copy({ data: bias.data, shape: [O], strides: [bias.strides[0]!], offset: bias.offset }, { data: wb, shape: [O], strides: [K + 1], offset: K });
  return wb;
}

/** y = conv(x, w) (+ bias), no autograd. */
function convRaw(x: Tensor, w: Tensor, bias: Tensor | null, geo: Conv2dGeometry, groups: number): Tensor {
  const be = backend(), { N, OH, OW } = geo, O = w.shape[0]!, L = OH * OW;
  const Og = O / groups, Kg = (geo.C / groups) * geo.kh * geo.kw;
  const out = uninitialized([N, O, OH, OW], x.dtype), wd = dense(w); // the gemms write all of it
  if (direct(geo, groups) && be.conv2dDirect?.(x, wd, bias, geo, out.data)) return out;
  if (groups === 1 && be.conv2d?.(x, wd, bias, geo, out.data)) return out;
  // without groups the bias rides in the product: [W | b] · [cols; 1]
  const folded = bias !== null && groups === 1, Ka = folded ? Kg + 1 : Kg;
  const a = folded ? weightWithBias(wd, bias, O, Kg) : wd.data, aOffset = folded ? 0 : wd.offset;
  const chunk = imagesPerChunk(geo);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nb = Math.min(chunk, N - n0), ld = nb * L;
    const cols = work('cols', x.dtype, geo.C * geo.kh * geo.kw * ld + (folded ? ld : 0));
    be.im2col(x, geo, n0, nb, cols);
    if (folded) fillOnes(cols, Kg * ld, Ka * ld);
    // out[n] = W · cols[:, n·L … (n+1)·L], written straight into NCHW: one batched product over the images
    // (W shared, batch stride 0), or with groups one product per image batched over the groups
    const perImage = groups > 1;
    for (let n = 0; n < (perImage ? nb : 1); n++) {
      be.gemm({
        batch: perImage ? groups : nb, M: Og, N: L, K: Ka,
        a, aOffset, lda: Ka, transA: false, aBatchStride: perImage ? Og * Kg : 0,
        b: cols, bOffset: n * L, ldb: ld, transB: false, bBatchStride: perImage ? Kg * ld : L,
        c: out.data.subarray((n0 + n) * O * L, (n0 + (perImage ? n + 1 : nb)) * O * L),
      });
    }
  }
  if (bias && !folded) {
    const flat: View = { data: out.data, shape: [N, O, L], strides: [O * L, L, 1], offset: 0 };
    be.binary('add', flat, { data: bias.data, shape: [N, O, L], strides: [0, bias.strides[0]!, 0], offset: bias.offset }, out.data);
  }
  return out;
}

/** gx = ∂⟨conv(x, w), g⟩/∂x: Wᵀ·g[n] per image into image-major cols, folded back by col2im. */
function inputGradRaw(g: Tensor, w: Tensor, geo: Conv2dGeometry, groups: number): Tensor {
  const be = backend(), { N, C, H, W, OH, OW } = geo, O = w.shape[0]!, L = OH * OW;
  const Og = O / groups, Kg = (C / groups) * geo.kh * geo.kw, K = C * geo.kh * geo.kw;
  const gx = uninitialized([N, C, H, W], g.dtype), wd = dense(w), gd = dense(g); // col2im writes all of it
  if (groups === 1 && be.conv2dInputGrad?.(gd, wd, geo, gx.data)) return gx;
  const chunk = imagesPerChunk(geo);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nb = Math.min(chunk, N - n0);
    const cols = work('cols', g.dtype, K * nb * L);
    // cols[n] = Wᵀ · g[n]: one product per image (batched over the images, or over the groups per image)
    const perImage = groups > 1;
    for (let n = 0; n < (perImage ? nb : 1); n++) {
      be.gemm({
        batch: perImage ? groups : nb, M: Kg, N: L, K: Og,
        a: wd.data, aOffset: wd.offset, lda: Kg, transA: true, aBatchStride: perImage ? Og * Kg : 0,
        b: gd.data, bOffset: gd.offset + (n0 + n) * O * L, ldb: L, transB: false, bBatchStride: perImage ? Og * L : O * L,
        c: cols.subarray(n * K * L, (n + (perImage ? 1 : nb)) * K * L),
      });
    }
    be.col2im(cols, geo, n0, nb, gx.data);
  }
  return gx;
}

/**
 * gw = ∂⟨conv(x, w), g⟩/∂w = Σ over images of g·colsᵀ; with gb (no groups) also the bias gradient Σ g, from the
 * same product as one more column ([cols; 1] gives [gw | gb]).
 */
function weightGradRaw(x: Tensor, g: Tensor, geo: Conv2dGeometry, groups: number, wShape: readonly number[], gb: Tensor | null = null): Tensor {
  const be = backend(), { N, C, OH, OW } = geo, O = wShape[0]!, L = OH * OW;
  const Og = O / groups, Kg = (C / groups) * geo.kh * geo.kw;
  const gw = uninitialized(wShape, x.dtype); // the first chunk's gemm writes all of it
  if (direct(geo, groups) && be.conv2dDirectWeightGrad?.(x, g, geo, gw.data, gb?.data ?? null)) return gw;
  if (groups === 1 && be.conv2dWeightGrad?.(x, g, geo, gw.data, gb?.data ?? null)) return gw;
  const folded = gb !== null && groups === 1, Kc = folded ? Kg + 1 : Kg;
  const acc = folded ? work('acc', x.dtype, O * Kc) : gw.data;
  const chunk = imagesPerChunk(geo);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nb = Math.min(chunk, N - n0), ld = nb * L;
    const cols = work('cols', x.dtype, C * geo.kh * geo.kw * ld + (folded ? ld : 0));
    be.im2col(x, geo, n0, nb, cols);
    if (folded) fillOnes(cols, Kg * ld, Kc * ld);
    const g2 = gradAsRows(g, n0, nb, O, L);
    const part = n0 === 0 ? null : work('part', x.dtype, O * Kc);
    be.gemm({
      batch: groups, M: Og, N: Kc, K: ld,
      a: g2, aOffset: 0, lda: ld, transA: false, aBatchStride: Og * ld,
      b: cols, bOffset: 0, ldb: ld, transB: true, bBatchStride: Kg * ld,
      c: part ?? acc,
    });
    if (part) {
      const v: View = { data: acc, shape: [O * Kc], strides: [1], offset: 0 };
      be.binary('add', v, { ...v, data: part }, acc);
    }
  }
  if (folded) {
    be.copy({ data: acc, shape: [O, Kg], strides: [Kc, 1], offset: 0 }, { data: gw.data, shape: [O, Kg], strides: [Kg, 1], offset: 0 });
    be.copy({ data: acc, shape: [O], strides: [Kc], offset: Kg }, { data: gb!.data, shape: [O], strides: [1], offset: 0 });
  }
  return gw;
}

/** conv(x, w) recorded; its rule uses the two companion ops below. */
function convOp(x: Tensor, w: Tensor, bias: Tensor | null, geo: Conv2dGeometry, groups: number): Tensor {
  // ∂y/∂x = Wᵀ folded back (col2im), ∂y/∂w = Σ g·colsᵀ, ∂y/∂b = Σ_{n,h,w} g
  return record(convRaw(x, w, bias, geo, groups), 'ConvolutionBackward', [x, w, bias], (g) => {
    const gx = x.requiresGrad ? convInputGrad(g, w, geo, groups) : null;
    const both = w.requiresGrad && bias?.requiresGrad && !isGradEnabled() ? weightAndBiasGrad(x, g, geo, groups, w.shape) : null;
    if (both) return [gx, ...both];
    return [gx, w.requiresGrad ? convWeightGrad(x, g, geo, groups, w.shape) : null, bias?.requiresGrad ? sum(g, [0, 2, 3]) : null];
  });
}

/** Both parameter gradients from one pass (the direct kernel, or one product), for a rule recording no graph; null with groups. */
function weightAndBiasGrad(x: Tensor, g: Tensor, geo: Conv2dGeometry, groups: number, wShape: readonly number[]): [Tensor, Tensor] | null {
  if (groups !== 1) return null;
  const gb = uninitialized([wShape[0]!], x.dtype); // written in full
  return [weightGradRaw(x, g, geo, groups, wShape, gb), gb];
}

function convInputGrad(g: Tensor, w: Tensor, geo: Conv2dGeometry, groups: number): Tensor {
  // bilinear in (g, w): ∂/∂g = conv(h, w), ∂/∂w = convWeightGrad(h, g)
  return record(inputGradRaw(g, w, geo, groups), 'ConvolutionBackwardInput', [g, w], (h) => [
    g.requiresGrad ? convOp(h, w, null, geo, groups) : null,
    w.requiresGrad ? convWeightGrad(h, g, geo, groups, w.shape) : null,
  ]);
}

function convWeightGrad(x: Tensor, g: Tensor, geo: Conv2dGeometry, groups: number, wShape: readonly number[]): Tensor {
  // bilinear in (x, g): ∂/∂x = convInputGrad(g, h), ∂/∂g = conv(x, h)
  return record(weightGradRaw(x, g, geo, groups, wShape), 'ConvolutionBackwardWeight', [x, g], (h) => [
    x.requiresGrad ? convInputGrad(g, h, geo, groups) : null,
    g.requiresGrad ? convOp(x, h, null, geo, groups) : null,
  ]);
}

const hw = (a: number, b: number): string => `${a}×${b}`;

/**
 * 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) of input [N, C, H, W] (or unbatched
 * [C, H, W]) with weight [out, C/groups, kh, kw] and an optional bias [out].
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  if (!(input instanceof Tensor) || !(weight instanceof Tensor)) throw new TypeError(`${op}: input and weight must be Tensors`);
  if (weight.ndim !== 4) throw new Error(`${op}: expected weight [outChannels, inChannels/groups, kH, kW], got ${fmt(weight.shape)}`);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${groups}`);
  const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
  const Cin = Cg * groups;
  if (input.ndim !== 4 && input.ndim !== 3) throw new Error(`${op}: expected input [N, ${Cin}, H, W] (or unbatched [${Cin}, H, W]), got ${fmt(input.shape)}`);
  if (input.ndim === 3) return squeeze(conv2d(unsqueeze(input, 0), weight, bias, opts), 0);
  if (!isFloat(input.dtype) || input.dtype !== weight.dtype) {
    throw new Error(`${op}: input (${input.dtype}) and weight (${weight.dtype}) must have the same floating-point dtype`);
  }
  const [N, C, H, W] = input.shape as [number, number, number, number];
  if (C !== Cin) {
    throw new Error(`${op}: expected input [N, ${Cin}, H, W] with ${Cin} channels to match weight ${fmt(weight.shape)}` +
      `${groups > 1 ? ` and groups ${groups}` : ''}, got ${fmt(input.shape)} with ${C} channels`);
  }
  if (O % groups !== 0) throw new Error(`${op}: outChannels ${O} (weight ${fmt(weight.shape)}) must be divisible by groups ${groups}`);
  if (bias != null) {
    if (!(bias instanceof Tensor) || bias.ndim !== 1 || bias.shape[0] !== O) throw new Error(`${op}: expected bias [${O}] for weight ${fmt(weight.shape)}, got ${bias instanceof Tensor ? fmt(bias.shape) : typeof bias}`);
    if (bias.dtype !== input.dtype) throw new Error(`${op}: bias (${bias.dtype}) must have the input's dtype (${input.dtype})`);
  }
  const [sh, sw] = pair(opts.stride, 1, op, 'stride', 1);
  const [dh, dw] = pair(opts.dilation, 1, op, 'dilation', 1);
  const ekh = dh * (kh - 1) + 1, ekw = dw * (kw - 1) + 1;
  let padTop: number, padLeft: number, padH: number, padW: number;
  if (opts.padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new Error(`${op}: padding 'same' needs stride 1, got stride ${hw(sh, sw)}`);
    // total padding dilation·(k−1), the odd one extra at the bottom/right, as PyTorch
    padH = ekh - 1; padW = ekw - 1; padTop = padH >> 1; padLeft = padW >> 1;
  } else {
    const [ph, pw] = opts.padding === 'valid' ? [0, 0] : pair(opts.padding, 0, op, 'padding', 0);
    padTop = ph; padLeft = pw; padH = 2 * ph; padW = 2 * pw;
  }
  if (ekh > H + padH || ekw > W + padW) {
    const dil = dh > 1 || dw > 1 ? ` (dilated ${hw(ekh, ekw)})` : '';
    throw new Error(`${op}: kernel ${hw(kh, kw)}${dil} is larger than the padded input ${hw(H + padH, W + padW)} (input ${fmt(input.shape)}, weight ${fmt(weight.shape)})`);
  }
  const OH = Math.floor((H + padH - ekh) / sh) + 1, OW = Math.floor((W + padW - ekw) / sw) + 1;
  const geo: Conv2dGeometry = { N, C, H, W, kh, kw, sh, sw, padTop, padLeft, dh, dw, OH, OW };
  if (N === 0 || O === 0) return empty([N, O, OH, OW], input.dtype);
  return convOp(input, weight, bias ?? null, geo, groups);
}
