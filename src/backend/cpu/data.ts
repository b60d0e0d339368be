/** Reference kernels for data loading. */

/** out[k·row + j] = table[src[rows[k]·row + j]]: dataset rows stored as bytes, decoded through a 256-entry table. */
export function gatherRowsU8(src: Uint8Array, row: number, rows: Int32Array, table: Float32Array, out: Float32Array): void {
  for (let k = 0; k < rows.length; k++) {
    const s = rows[k]! * row, o = k * row;
    for (let j = 0; j < row; j++) out[o + j] = table[src[s + j]!]!;
  }
}
