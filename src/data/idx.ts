/**
 * The IDX file format (MNIST's): a 4-byte magic number (0, 0, element type, number of dims), the dims as
 * big-endian uint32, then the elements, big-endian. Files may be gzipped. Every check names the file.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Element types by their IDX code. */
const IDX_TYPES = {
  0x08: { name: 'ubyte', bytes: 1 },
  0x09: { name: 'byte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
} as const;

export type IdxType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name'];

export interface IdxArray {
  /** Element type as named by the IDX specification. */
  type: IdxType;
  shape: number[];
  /** Row-major elements: Uint8Array for ubyte, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export interface IdxExpect {
  /** Required element type (MNIST: 'ubyte'). */
  type?: IdxType;
  /** Required number of dims (MNIST images: 3, labels: 1). */
  ndim?: number;
}

/** Parse IDX bytes (gzip is detected by its magic bytes); `name` is used in error messages. */
export function parseIdx(bytes: Uint8Array, name = '<buffer>', expect: IdxExpect = {}): IdxArray {
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`IDX file ${name}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  const h = parseHeader(bytes, name, expect, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type: h.type, shape: h.shape, data: decode(view, h.headerBytes, h.count, h.code) };
}

const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

interface Header {
  type: IdxType;
  code: keyof typeof IDX_TYPES;
  shape: number[];
  headerBytes: number;
  count: number;
}

/**
 * The magic number and dims at the start of `bytes` (at least the header), checked against `expect` and against the
 * whole file's length `total`.
 */
function parseHeader(bytes: Uint8Array, name: string, expect: IdxExpect, total: number): Header {
  if (total < 4) throw new Error(`IDX file ${name}: truncated, ${total} bytes is shorter than the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const code = bytes[2]!, ndim = bytes[3]!;
  const type = IDX_TYPES[code as keyof typeof IDX_TYPES];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !type || ndim === 0) {
    throw new Error(`IDX file ${name}: wrong magic number 0x${magic.toString(16).padStart(8, '0')} (${magic}); expected 0x0000TTDD with a known element type TT and DD ≥ 1 dims, e.g. 2051 for MNIST images, 2049 for labels`);
  }
  if (expect.type && type.name !== expect.type) throw new Error(`IDX file ${name}: elements are ${type.name}, expected ${expect.type} (magic ${magic})`);
  if (expect.ndim !== undefined && ndim !== expect.ndim) throw new Error(`IDX file ${name}: has ${ndim} dims, expected ${expect.ndim} (magic ${magic})`);
  const headerBytes = 4 + 4 * ndim;
  if (total < headerBytes) throw new Error(`IDX file ${name}: truncated header, ${total} bytes but ${ndim} dims need ${headerBytes}`);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((p, s) => p * s, 1);
  const expected = headerBytes + count * type.bytes;
  if (total < expected) {
    throw new Error(`IDX file ${name}: truncated, shape [${shape.join(', ')}] of ${type.name} needs ${expected} bytes, the file has ${total}`);
  }
  if (total > expected) {
    throw new Error(`IDX file ${name}: size mismatch, shape [${shape.join(', ')}] of ${type.name} needs ${expected} bytes, the file has ${total} (${total - expected} extra)`);
  }
  return { type: type.name, code: code as keyof typeof IDX_TYPES, shape, headerBytes, count };
}

function decode(view: DataView, at: number, count: number, code: keyof typeof IDX_TYPES): IdxArray['data'] {
  switch (code) {
    // bytes: a view on the file's buffer (no copy of MNIST's 47 MB)
    case 0x08: return new Uint8Array(view.buffer, view.byteOffset + at, count);
    case 0x09: return new Int8Array(view.buffer, view.byteOffset + at, count);
    case 0x0b: { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt16(at + 2 * i, false); return a; }
    case 0x0c: { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt32(at + 4 * i, false); return a; }
    case 0x0d: { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat32(at + 4 * i, false); return a; }
    case 0x0e: { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat64(at + 8 * i, false); return a; }
  }
}

export interface IdxReadOptions extends IdxExpect {
  /**
   * Storage for the elements of a plain (not gzipped) byte file, which is then read straight into it instead of
   * into a buffer of its own: MNIST's pixels go into the wasm backend's memory so, without the file being held
   * twice on the way. Null: the usual path.
   */
  allocateBytes?: (count: number) => Uint8Array | null;
}

/** Read and validate an IDX file (plain or .gz). */
export function readIdx(file: string, opts: IdxReadOptions = {}): IdxArray {
  /** f(), a failure to open or read the file reported as this IDX file's. */
  const io = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new Error(`IDX file ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  if (opts.allocateBytes) {
    const fd = io(() => openSync(file, 'r'));
    try {
      const into = readBytesInto(fd, file, opts, opts.allocateBytes);
      if (into) return into;
    } finally {
      closeSync(fd);
    }
  }
  return parseIdx(io(() => readFileSync(file)), file, opts);
}

/** The header, then the elements of a byte file straight into allocate(count)'s array; null when that does not apply. */
function readBytesInto(fd: number, file: string, expect: IdxExpect, allocate: (count: number) => Uint8Array | null): IdxArray | null {
  const total = fstatSync(fd).size;
  const head = new Uint8Array(4 + 4 * 255);
  const got = readSync(fd, head, 0, Math.min(head.length, total), 0);
  if (isGzip(head.subarray(0, got))) return null;
  const h = parseHeader(head.subarray(0, got), file, expect, total);
  if (h.code !== 0x08) return null;
  const data = allocate(h.count);
  if (!data) return null;
  for (let done = 0; done < h.count;) {
    const n = readSync(fd, data, done, h.count - done, h.headerBytes + done);
    if (n === 0) throw new Error(`IDX file ${file}: truncated while reading (${done} of ${h.count} elements)`);
    done += n;
  }
  return { type: h.type, shape: h.shape, data };
}

/** Encode an array as IDX bytes (big-endian), the inverse of parseIdx; used to write test files. */
export function encodeIdx(type: IdxType, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const entry = Object.entries(IDX_TYPES).find(([, t]) => t.name === type);
  if (!entry) throw new Error(`encodeIdx: unknown type ${type}`);
  const code = Number(entry[0]), size = entry[1].bytes;
  const count = shape.reduce((p, s) => p * s, 1);
  if (values.length !== count) throw new Error(`encodeIdx: shape [${shape.join(', ')}] needs ${count} values, got ${values.length}`);
  const out = new Uint8Array(4 + 4 * shape.length + count * size);
  const view = new DataView(out.buffer);
  out[2] = code; out[3] = shape.length;
  shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  const at = 4 + 4 * shape.length;
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    switch (code) {
      case 0x08: view.setUint8(at + i, v); break;
      case 0x09: view.setInt8(at + i, v); break;
      case 0x0b: view.setInt16(at + 2 * i, v, false); break;
      case 0x0c: view.setInt32(at + 4 * i, v, false); break;
      case 0x0d: view.setFloat32(at + 4 * i, v, false); break;
      case 0x0e: view.setFloat64(at + 8 * i, v, false); break;
    }
  }
  return out;
}
