/** Reference matrix multiply: k-blocked, float64 accumulators, transposes read in place. */
import type { GemmArgs } from '../backend.js';

const KB = 256;

export function gemm(g: GemmArgs): void {
  const { batch, M, N, K } = g;
  const acc = new Float64Array(M * N);
  for (let bt = 0; bt < batch; bt++) {
    const ao = g.aOffset + bt * g.aBatchStride, bo = g.bOffset + bt * g.bBatchStride, co = bt * M * N;
    acc.fill(0);
    if (g.transB) gemmNT(g, ao, bo, acc);
    else gemmNN(g, ao, bo, acc);
    for (let i = 0; i < M * N; i++) g.c[co + i] = acc[i]!;
  }
}

/** acc[i, :] += A[i, k] · B[k, :], B rows contiguous. */
function gemmNN(g: GemmArgs, ao: number, bo: number, acc: Float64Array): void {
  const { M, N, K, a, b, lda, ldb, transA } = g;
  const ars = transA ? 1 : lda, acs = transA ? lda : 1; // A(i, k) = a[ao + i*ars + k*acs]
  for (let k0 = 0; k0 < K; k0 += KB) {
    const k1 = Math.min(K, k0 + KB);
    for (let i = 0; i < M; i++) {
      const row = i * N;
      for (let k = k0; k < k1; k++) {
        const av = a[ao + i * ars + k * acs]!;
        if (av === 0) continue;
        const bp = bo + k * ldb;
        for (let j = 0; j < N; j++) acc[row + j]! += av * b[bp + j]!;
      }
    }
  }
}

/** acc[i, j] = Σ_k A(i, k) · B[j, k]: dot products over contiguous rows of B. */
function gemmNT(g: GemmArgs, ao: number, bo: number, acc: Float64Array): void {
  const { M, N, K, a, b, lda, ldb, transA } = g;
  const ars = transA ? 1 : lda, acs = transA ? lda : 1;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const bp = bo + j * ldb;
      let s0 = 0, s1 = 0, k = 0;
      if (acs === 1) {
        const ap = ao + i * ars;
        for (; k + 1 < K; k += 2) { s0 += a[ap + k]! * b[bp + k]!; s1 += a[ap + k + 1]! * b[bp + k + 1]!; }
        for (; k < K; k++) s0 += a[ap + k]! * b[bp + k]!;
      } else {
        for (; k < K; k++) s0 += a[ao + i * ars + k * acs]! * b[bp + k]!;
      }
      acc[i * N + j] = s0 + s1;
    }
  }
}
