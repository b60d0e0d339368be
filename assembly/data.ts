/** Dataset kernels. */

/**
 * out[i] = table[src[i]] for i < n: bytes decoded through a 256-entry float32 table (MNIST's pixels, normalised).
 * Four bytes are read at once and their table entries copied one by one (as 32-bit words: no float conversion).
 */
export function lookupU8(src: usize, n: i32, table: usize, out: usize): void {
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
