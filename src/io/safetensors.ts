/**
 * The safetensors format (Hugging Face, used by PyTorch users for weights): an 8-byte little-endian header
 * length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: {…} }`,
 * then the tensors' little-endian bytes. Reading validates everything and names the file in every error.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { dataSync } from '../ops/format.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** String-to-string metadata stored under `__metadata__`. */
export type Metadata = Record<string, string>;

interface Entry { dtype: string; shape: number[]; data_offsets: [number, number] }

/** Bytes per element of every safetensors dtype we can read. */
const SIZES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};
const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

/** The largest header the reference implementation accepts (100 MB). */
const MAX_HEADER = 100_000_000;

function checkPlatform(): void {
  if (endianness() !== 'LE') throw new Error('safetensors: only little-endian platforms are supported');
}

/** Encode tensors (and optional string metadata) as safetensors bytes; keys are sorted as the reference writer does. */
export function serialize(tensors: Record<string, Tensor>, metadata?: Metadata): Uint8Array {
  checkPlatform();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors.serialize: metadata value for '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const names = Object.keys(tensors).sort();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new Error(`safetensors.serialize: '${name}' is not a Tensor`);
    if (name === '__metadata__') throw new Error("safetensors.serialize: '__metadata__' is reserved and cannot name a tensor");
    const flat = dataSync(t);
    const bytes = new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength);
    header[name] = { dtype: WRITE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned, as the reference writer does
  const jsonBytesLen = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonBytesLen) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

export interface Deserialized {
  tensors: Record<string, Tensor>;
  metadata: Metadata;
}

/**
 * Decode safetensors bytes. F32, F64, I32 and BOOL load as themselves; F16 and BF16 are widened to float32;
 * I64, I16, I8 and U8 become int32 (I64 values outside the int32 range are an error). `name` is used in errors.
 */
export function deserialize(bytes: Uint8Array, name = '<buffer>'): Deserialized {
  checkPlatform();
  const fail = (msg: string): never => { throw new Error(`safetensors file ${name}: ${msg}`); };
  if (bytes.length < 8) fail(`truncated, ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} is larger than the 100 MB limit (not a safetensors file?)`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`truncated or corrupt, the header length says ${n} bytes but only ${bytes.length - 8} follow`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header must be a JSON object');
  const dataStart = 8 + n, dataLen = bytes.length - dataStart;
  const metadata: Metadata = {};
  const entries: [string, Entry][] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ must be an object of strings');
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__ value for '${mk}' must be a string, got ${typeof mv}`);
        metadata[mk] = mv as string;
      }
      continue;
    }
    entries.push([key, checkEntry(key, value, fail)]);
  }
  // the tensors' byte ranges must tile the data section exactly: no gaps, no overlaps, nothing after
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let expected = 0;
  for (const [key, e] of sorted) {
    const [b, end] = e.data_offsets;
    if (b !== expected) fail(`tensor '${key}' starts at byte ${b}, expected ${expected} (offsets overlap or leave a gap)`);
    if (end > dataLen) fail(`truncated, tensor '${key}' ends at data byte ${end} but the data section has ${dataLen} bytes`);
    expected = end;
  }
  if (expected !== dataLen) fail(`size mismatch, the tensors cover ${expected} data bytes but the file has ${dataLen}`);
  const tensors: Record<string, Tensor> = {};
  for (const [key, e] of entries) {
    const [b, end] = e.data_offsets;
    tensors[key] = new Tensor(decode(bytes.subarray(dataStart + b, dataStart + end), e.dtype, key, fail), e.shape);
  }
  return { tensors, metadata };
}

function checkEntry(key: string, value: unknown, fail: (msg: string) => never): Entry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`entry '${key}' must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in SIZES)) fail(`tensor '${key}' has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(SIZES).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${key}' has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    fail(`tensor '${key}' has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const numel = (shape as number[]).reduce((p, d) => p * d, 1);
  const [b, e] = offsets as [number, number];
  if (e - b !== numel * SIZES[dtype as string]!) {
    fail(`tensor '${key}': shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${numel * SIZES[dtype as string]!} bytes, data_offsets [${b}, ${e}] give ${e - b}`);
  }
  return { dtype: dtype as string, shape: shape as number[], data_offsets: [b, e] };
}

/** Copy the little-endian bytes into a fresh, aligned typed array of a nabla dtype. */
function decode(src: Uint8Array, dtype: string, key: string, fail: (msg: string) => never): TypedArray {
  const copy = new Uint8Array(src.length); // aligned and owned (a Node Buffer's slice() would be a view)
  copy.set(src);
  const buf = copy.buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return new Float64Array(buf);
    case 'I32': return new Int32Array(buf);
    case 'BOOL': {
      for (let i = 0; i < copy.length; i++) if (copy[i]! > 1) fail(`tensor '${key}' (BOOL) has byte ${copy[i]} at element ${i}; booleans must be 0 or 1`);
      return copy;
    }
    case 'U8': return Int32Array.from(copy);
    case 'I8': return Int32Array.from(new Int8Array(buf));
    case 'I16': return Int32Array.from(new Int16Array(buf));
    case 'I64': {
      const big = new BigInt64Array(buf), out = new Int32Array(big.length);
      for (let i = 0; i < big.length; i++) {
        const v = big[i]!;
        if (v > 2147483647n || v < -2147483648n) fail(`tensor '${key}' (I64) has value ${v} at element ${i}, outside the int32 range nabla uses for integers`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'F16': {
      const h = new Uint16Array(buf), out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(buf), bits = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
      return new Float32Array(bits.buffer);
    }
  }
  return fail(`tensor '${key}' has unsupported dtype ${dtype}`);
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Write bytes to `path` so that a crash never leaves a partial file: write a temporary file next to it,
 * fsync it, rename it over `path`, then fsync the folder (where the platform allows).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* may not exist */ }
    throw new Error(`safetensors: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some platforms cannot fsync a folder; the rename is already done */ }
}

/** Save tensors to a .safetensors file (atomically), as safetensors.torch.save_file. */
export function saveFile(tensors: Record<string, Tensor>, path: string, metadata?: Metadata): void {
  writeFileAtomic(path, serialize(tensors, metadata));
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`safetensors file ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Load every tensor of a .safetensors file, as safetensors.torch.load_file. */
export function loadFile(path: string): Record<string, Tensor> {
  return deserialize(readBytes(path), path).tensors;
}

/** Load the tensors and the `__metadata__` strings of a .safetensors file. */
export function loadFileWithMetadata(path: string): Deserialized {
  return deserialize(readBytes(path), path);
}
