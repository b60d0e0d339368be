import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, tensor, randn, Generator, arange } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nabla-st-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const enc = (s: string) => new TextEncoder().encode(s);
function file(header: string, data: number[] = [], headerLen?: number): Uint8Array {
  const h = enc(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('bytes identical to the reference implementation (test vectors of huggingface/safetensors)', () => {
  // bindings/python/tests/test_simple.py: {"test": zeros((2, 2), int32)} serialises to this exact byte string
  const expected = file('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ', new Array(16).fill(0));
  assert.equal(expected[0], 0x40);
  assert.deepEqual(io.serialize({ test: tensor(new Int32Array(4), { shape: [2, 2] }) }), expected);
  // with metadata first; the writer pads the 95-byte header to 96
  const json = '{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
  assert.deepEqual(io.serialize({ test1: tensor(new Int32Array(4), { shape: [2, 2] }) }, { framework: 'pt' }), file(`${json} `, new Array(16).fill(0)));
  // the reader's test vector (test_simple.py) has 7 spaces of padding
  const withMeta = file(`${json}       `, new Array(16).fill(0));
  assert.equal(withMeta[0], 0x66);
  const back = io.deserialize(withMeta);
  assert.deepEqual(back.metadata, { framework: 'pt' });
  assert.deepEqual(back.tensors.test1!.toArray(), [[0, 0], [0, 0]]);
});

test('round trip of every dtype, non-contiguous views, scalars and empty tensors, through a file', () => {
  const g = new Generator(3);
  const tensors = {
    'fc1.weight': randn([3, 4], { generator: g }),
    'fc1.bias': randn([3], { generator: g, dtype: 'float64' }),
    steps: tensor(Int32Array.from([-5, 0, 2147483647])),
    mask: tensor([true, false, true]),
    transposed: arange(0, 6).reshape(2, 3).T,
    scalar: tensor(2.5),
    empty: tensor(new Float32Array(0), { shape: [0, 3] }),
  };
  const p = join(tmp, 'rt.safetensors');
  io.saveFile(tensors, p, { note: 'hello' });
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp')), [], 'no temporary file is left');
  const { tensors: back, metadata } = io.loadFileWithMetadata(p);
  assert.deepEqual(metadata, { note: 'hello' });
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [k, t] of Object.entries(tensors)) {
    assert.equal(back[k]!.dtype, t.dtype, k);
    assert.deepEqual(back[k]!.shape, t.shape, k);
    assert.deepEqual(back[k]!.toArray(), t.toArray(), k);
  }
  // the data section starts 8-byte aligned
  const bytes = readFileSync(p);
  assert.equal((8 + Number(bytes.readBigUInt64LE(0))) % 8, 0);
  assert.deepEqual(io.loadFile(p).steps!.toArray(), [-5, 0, 2147483647]);
});

test('PyTorch dtypes that nabla widens: F16, BF16, I64, I16, I8, U8', () => {
  const h = (dtype: string, shape: number[], bytes: number[]) => file(`{"t":{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[0,${bytes.length}]}}`, bytes);
  // float16 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal = 0x0001
  const f16 = io.deserialize(h('F16', [4], [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00])).tensors.t!;
  assert.equal(f16.dtype, 'float32');
  assert.deepEqual(f16.toArray(), [1, -2, 65504, Math.fround(2 ** -24)]);
  // bfloat16 1.0 = 0x3f80, -0.5 = 0xbf00
  assert.deepEqual(io.deserialize(h('BF16', [2], [0x80, 0x3f, 0x00, 0xbf])).tensors.t!.toArray(), [1, -0.5]);
  const i64 = io.deserialize(h('I64', [2], [5, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).tensors.t!;
  assert.equal(i64.dtype, 'int32');
  assert.deepEqual(i64.toArray(), [5, -1]);
  assert.throws(() => io.deserialize(h('I64', [1], [0, 0, 0, 0, 1, 0, 0, 0]), 'big.safetensors'), /big\.safetensors: tensor 't' \(I64\) has value 4294967296 at element 0, outside the int32 range/);
  assert.deepEqual(io.deserialize(h('I16', [1], [0xfe, 0xff])).tensors.t!.toArray(), [-2]);
  assert.deepEqual(io.deserialize(h('I8', [1], [0xff])).tensors.t!.toArray(), [-1]);
  assert.deepEqual(io.deserialize(h('U8', [1], [0xff])).tensors.t!.toArray(), [255]);
});

test('corrupt or truncated files give a clear error naming the file', () => {
  const good = io.serialize({ a: tensor([1, 2, 3]), b: tensor([4]) });
  const cases: [string, Uint8Array, RegExp][] = [
    ['tiny', good.subarray(0, 5), /truncated, 5 bytes is shorter than the 8-byte header length/],
    ['huge-header', file('{}', [], 2 ** 40), /header length 1099511627776 is larger than the 100 MB limit/],
    ['header-past-end', file('{}', [], 50), /header length says 50 bytes but only 2 follow/],
    ['not-json', file('{"a":', []), /header is not valid JSON/],
    ['array', file('[1,2]'), /header must be a JSON object/],
    ['bad-dtype', file('{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}', [0]), /tensor 'a' has unsupported dtype "F8"/],
    ['bad-shape', file('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor 'a' has an invalid shape \[-1\]/],
    ['bad-offsets', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', [0, 0, 0, 0]), /invalid data_offsets \[4,0\]/],
    ['size-vs-shape', file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /shape \[2\] of F32 needs 8 bytes, data_offsets \[0, 4\] give 4/],
    ['gap', file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', [0, 0]), /tensor 'a' starts at byte 1, expected 0/],
    ['overlap', file('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', [0, 0, 0]), /starts at byte 1, expected 2/],
    ['truncated-data', good.subarray(0, good.length - 2), /truncated, tensor 'b' ends at data byte 16 but the data section has 14 bytes/],
    ['trailing', new Uint8Array([...good, 0, 0]), /size mismatch, the tensors cover 16 data bytes but the file has 18/],
    ['bad-metadata', file('{"__metadata__":{"k":1}}'), /__metadata__ value for 'k' must be a string/],
    ['bad-bool', file('{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}', [2]), /booleans must be 0 or 1/],
  ];
  for (const [name, bytes, re] of cases) {
    const p = join(tmp, `${name}.safetensors`);
    writeFileSync(p, bytes);
    assert.throws(() => io.loadFile(p), (e: Error) => e.message.startsWith(`safetensors file ${p}: `) && re.test(e.message), name);
  }
  assert.throws(() => io.loadFile(join(tmp, 'missing.safetensors')), /missing\.safetensors: cannot be read \(ENOENT\)/);
  assert.throws(() => io.serialize({ __metadata__: tensor([1]) }), /reserved/);
  assert.throws(() => io.serialize({ a: [1] as never }), /'a' is not a Tensor/);
});

test('saving over an existing file replaces it atomically; a failed write leaves the old file intact', () => {
  const p = join(tmp, 'atomic.safetensors');
  io.saveFile({ a: tensor([1]) }, p);
  io.saveFile({ a: tensor([2]) }, p);
  assert.deepEqual(io.loadFile(p).a!.toArray(), [2]);
  assert.throws(() => io.saveFile({ a: tensor([3]) }, join(tmp, 'no-such-dir', 'x.safetensors')), /cannot write .*x\.safetensors \(ENOENT\)/);
  assert.deepEqual(io.loadFile(p).a!.toArray(), [2]);
});
