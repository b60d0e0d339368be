/** Dataset kernels. */

/**
 * out[i] = table[src[i]] for i < n: bytes decoded through a 256-entry float32 table (MNIST's pixels, normalised).
 * Four bytes are read at once and their table entries copied one by one (as 32-bit words: no float conversion).
 */
export function lookupU8(src: usize, n: i32, table: usize, out: usize): void {
  lookup(src, n, table, out);
}

@inline function lookup(src: usize, n: i32, table: usize, out: usize): void {
  const n4 = <usize>(n & ~3), end = <usize>n;
  let i: usize = 0;
  for (; i < n4; i += 4) {
    const v = load<u32>(src + i), o = out + (i << 2);
    store<u32>(o, load<u32>(table + ((v & 0xff) << 2)));
    store<u32>(o, load<u32>(table + ((v >> 6) & 0x3fc)), 4);
    store<u32>(o, load<u32>(table + ((v >> 14) & 0x3fc)), 8);
    store<u32>(o, load<u32>(table + ((v >> 22) & 0x3fc)), 12);
  }
  for (; i < end; i++) store<u32>(out + (i << 2), load<u32>(table + (<usize>load<u8>(src + i) << 2)));
}

/**
 * Rows idx[0 … n−1] (int32) of a row-major byte matrix at src, row bytes each, decoded through table into n
 * consecutive rows of floats at out: a batch of a dataset kept in memory, without copying its rows first.
 * (Requesting the next rows' cache lines ahead of decoding, as the native kernel does, measured no faster here.)
 */
export function gatherLookupU8(src: usize, row: i32, idx: usize, n: i32, table: usize, out: usize): void {
  for (let k = 0; k < n; k++) {
    const r = <usize>load<i32>(idx + (<usize>k << 2));
    lookup(src + r * <usize>row, row, table, out + <usize>k * <usize>row * 4);
  }
}

/**
 * Whole rows picked by an index (indexSelect, one-hot rows from an identity): for o < outer and j < J,
 * out[(o·J + j)·inner …] = x[(o·size + k)·inner …] with k = idx[j·is] (int32, negative counted from the end), inner
 * floats each. The indices are checked first: returns −1 when all are in [−size, size), else the first j that is not
 * (nothing is written then).
 */
export function gatherRows(x: usize, idx: usize, is: i32, J: i32, size: i32, outer: i32, inner: i32, out: usize): i32 {
  const step = <usize>is << 2;
  for (let j = 0; j < J; j++) {
    const k = load<i32>(idx + <usize>j * step);
    if (k < -size || k >= size) return j;
  }
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < J; j++) {
      let k = load<i32>(idx + <usize>j * step);
      if (k < 0) k += size;
      memory.copy(out + <usize>(o * J + j) * rowBytes, x + <usize>(o * size + k) * rowBytes, rowBytes);
    }
  }
  return -1;
}
