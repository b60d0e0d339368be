import { test } from 'node:test';
import assert from 'node:assert/strict';
import { data, tensor, arange, Generator, Tensor, getBackend, listBackends, setBackend } from '../src/index.js';

const xs = arange(0, 20).reshape(10, 2);
const ys = tensor(Int32Array.from({ length: 10 }, (_, i) => i));

test('TensorDataset: length, get, validation', () => {
  const ds = new data.TensorDataset(xs, ys);
  assert.equal(ds.length, 10);
  const [x, y] = ds.get(3);
  assert.deepEqual(x!.toArray(), [6, 7]);
  assert.equal(y!.item(), 3);
  assert.deepEqual(ds.get(-1)[1]!.item(), 9);
  assert.throws(() => ds.get(10), /index 10 is out of range for a dataset of length 10/);
  assert.throws(() => new data.TensorDataset(xs, tensor([1, 2])), /size mismatch between tensors along dim 0: \[10, 2\], \[2\]/);
  assert.throws(() => new data.TensorDataset(), /needs at least one tensor/);
});

test('DataLoader: sequential batches, the last one partial, dropLast', () => {
  const ds = new data.TensorDataset(xs, ys);
  const dl = new data.DataLoader(ds, { batchSize: 4 });
  assert.equal(dl.length, 3);
  const batches = [...dl];
  assert.deepEqual(batches.map(([x]) => x!.shape), [[4, 2], [4, 2], [2, 2]]);
  assert.deepEqual(batches[2]![1]!.toArray(), [8, 9]);
  assert.equal(batches[0]![1]!.dtype, 'int32');
  const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropped.length, 2);
  assert.equal([...dropped].length, 2);
  assert.throws(() => new data.DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  assert.throws(() => new data.DataLoader({} as never), /dataset must have an integer `length`/);
});

test('DataLoader: shuffling is a permutation, reproducible from the generator state, new each epoch', () => {
  const ds = new data.TensorDataset(xs, ys);
  const g = new Generator(42);
  const dl = new data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: g });
  const epoch = () => [...dl].flatMap(([, y]) => Array.from(y!.data));
  const state = g.getState();
  const e1 = epoch(), e2 = epoch();
  assert.deepEqual([...e1].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(e1, e2);
  g.setState(state);
  assert.deepEqual(epoch(), e1);
  // features travel with their labels
  for (const [x, y] of dl) assert.deepEqual(Array.from(x!.data), Array.from(y!.data).flatMap((i) => [2 * i, 2 * i + 1]));
  // the same seed in a fresh generator gives the same order
  const other = new data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(42) });
  assert.deepEqual([...other].flatMap(([, y]) => Array.from(y!.data)), e1);
});

test('DataLoader: the TensorDataset fast path equals per-sample collation', () => {
  const ds = new data.TensorDataset(xs, ys);
  const fast = [...new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(1) })];
  const slow = [...new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(1), collate: (s) => data.defaultCollate(s) as Tensor[] })];
  assert.equal(fast.length, slow.length);
  fast.forEach((b, i) => {
    assert.deepEqual(b[0]!.toArray(), slow[i]![0]!.toArray());
    assert.deepEqual(b[1]!.toArray(), slow[i]![1]!.toArray());
    assert.equal(b[1]!.dtype, slow[i]![1]!.dtype);
  });
  // a non-contiguous stored tensor goes through indexSelect
  const t = new data.TensorDataset(xs.T.contiguous().T, ys);
  assert.deepEqual(t.getBatch(Int32Array.from([3, 1]))[0]!.toArray(), [[6, 7], [2, 3]]);
});

test('DataLoader: for await, custom datasets, default and custom collate', async () => {
  const custom: data.Dataset<{ x: number[]; label: number }> = {
    length: 5,
    get: (i) => ({ x: [i, i * 10], label: i % 2 }),
  };
  const dl = new data.DataLoader<Record<string, unknown>>(custom, { batchSize: 2 });
  const seen: unknown[] = [];
  for await (const b of dl) seen.push(b);
  assert.equal(seen.length, 3);
  const first = seen[0] as { x: Tensor[]; label: Tensor };
  assert.deepEqual(first.label.toArray(), [0, 1]);
  assert.equal(first.label.dtype, 'int32');
  assert.deepEqual(first.x.map((t) => t.toArray()), [[0, 1], [0, 10]]);
  const sums = [...new data.DataLoader(custom, { batchSize: 5, collate: (s) => (s as { label: number }[]).reduce((a, v) => a + v.label, 0) })];
  assert.deepEqual(sums, [2]);
  assert.throws(() => data.defaultCollate([() => 1]), /cannot batch samples of type function/);
  const floats = data.defaultCollate([0.5, 1]) as Tensor;
  assert.equal(floats.dtype, 'float32');
});

test('Subset keeps the fast path and maps indices', () => {
  const ds = new data.TensorDataset(xs, ys);
  const sub = new data.Subset(ds, [9, 0, 5]);
  assert.equal(sub.length, 3);
  assert.equal(sub.get(0)[1]!.item(), 9);
  assert.ok(sub.getBatch);
  const [batch] = [...new data.DataLoader(sub, { batchSize: 3 })];
  assert.deepEqual(batch![1]!.toArray(), [9, 0, 5]);
  assert.throws(() => new data.Subset(ds, [10]), /index 10 is out of range/);
});

test('DataLoader: a sampler gives the order of every pass; it excludes shuffle and is checked', () => {
  const ds = new data.TensorDataset(xs, ys);
  const order = [7, 2, 9, 0, 4, 1, 3];
  const dl = new data.DataLoader(ds, { batchSize: 3, sampler: order });
  assert.equal(dl.length, 3);
  for (let pass = 0; pass < 2; pass++) assert.deepEqual([...dl].map(([, y]) => y!.toArray()), [[7, 2, 9], [0, 4, 1], [3]]);
  const dropped = new data.DataLoader(ds, { batchSize: 3, sampler: new Set(order), dropLast: true });
  assert.equal(dropped.length, 2);
  assert.deepEqual([...dropped].map(([, y]) => y!.toArray()), [[7, 2, 9], [0, 4, 1]]);
  assert.deepEqual([...new data.DataLoader(ds, { batchSize: 2, sampler: Int32Array.of(-1, 3) })].map(([, y]) => y!.toArray()), [[9, 3]]);
  assert.throws(() => new data.DataLoader(ds, { sampler: order, shuffle: true }), /sampler and shuffle exclude each other/);
  assert.throws(() => new data.DataLoader(ds, { sampler: 5 as unknown as number[] }), /sampler must be an iterable of indices/);
  assert.throws(() => [...new data.DataLoader(ds, { sampler: [1, 10] })], /sampler index 10 \(position 1\) is out of range for a dataset of 10 samples/);
  assert.throws(() => [...new data.DataLoader(ds, { sampler: [0, 1.5] })], /sampler gave 1.5 at position 1; indices must be integers/);
});

/** A dataset with the fast path that records what it is asked for. */
class Recording implements data.Dataset<Tensor[]> {
  readonly calls: string[] = [];
  readonly inner = new data.TensorDataset(xs, ys);
  get length(): number { return 10; }
  get(i: number): Tensor[] { return this.inner.get(i); }
  getBatch(idx: Int32Array): Tensor[] { this.calls.push(`get ${[...idx]}`); return this.inner.getBatch(idx); }
  prefetchBatch(idx: Int32Array): void { this.calls.push(`prefetch ${[...idx]}`); }
}

test('DataLoader: hands the next batch\'s indices to prefetchBatch before giving out the current one', async () => {
  const ds = new Recording();
  const seen: string[] = [];
  for (const [, y] of new data.DataLoader(ds, { batchSize: 4, sampler: [5, 1, 8, 2, 0, 9, 3, 7, 6, 4] })) seen.push(`${y!.toArray()} after ${ds.calls.at(-1)}`);
  assert.deepEqual(ds.calls, ['get 5,1,8,2', 'prefetch 0,9,3,7', 'get 0,9,3,7', 'prefetch 6,4', 'get 6,4']);
  assert.deepEqual(seen, ['5,1,8,2 after prefetch 0,9,3,7', '0,9,3,7 after prefetch 6,4', '6,4 after get 6,4']);
  ds.calls.length = 0;
  for await (const _ of new data.DataLoader(ds, { batchSize: 5 })) { /* drain */ }
  assert.deepEqual(ds.calls, ['get 0,1,2,3,4', 'prefetch 5,6,7,8,9', 'get 5,6,7,8,9']);
  // not with a custom collate (getBatch is not used then)
  ds.calls.length = 0;
  [...new data.DataLoader(ds, { batchSize: 5, collate: (s) => s })];
  assert.deepEqual(ds.calls, []);
  // a Subset forwards the hint with its own indices mapped
  ds.calls.length = 0;
  const sub = new data.Subset(ds, [9, 8, 7, 6]);
  [...new data.DataLoader(sub, { batchSize: 2 })];
  assert.deepEqual(ds.calls, ['get 9,8', 'prefetch 7,6', 'get 7,6']);
});

test('DataLoader: reuseBuffers is passed on to getBatch and prefetchBatch (through a Subset too), not without it', () => {
  const opts: unknown[] = [], ahead: unknown[] = [];
  const ds: data.Dataset<Tensor[]> = {
    length: 10,
    get: (i) => [xs.select(0, i), ys.select(0, i)],
    getBatch: (idx, o) => { opts.push(o?.reuseBuffers ?? false); return [xs.indexSelect(0, tensor(idx)), ys.indexSelect(0, tensor(idx))]; },
    prefetchBatch: (idx, o) => { ahead.push(`${[...idx]} ${o?.reuseBuffers ?? false}`); },
  };
  [...new data.DataLoader(ds, { batchSize: 5, reuseBuffers: true })];
  [...new data.DataLoader(new data.Subset(ds, [1, 2, 3]), { batchSize: 5, reuseBuffers: true })];
  [...new data.DataLoader(ds, { batchSize: 5 })];
  assert.deepEqual(opts, [true, true, true, false, false]);
  assert.deepEqual(ahead, ['5,6,7,8,9 true', '5,6,7,8,9 false']);
});

for (const backend of listBackends()) {
  test(`${backend}: MNIST batches with reuseBuffers equal fresh ones, in four buffers taken in turn`, () => {
    const prev = getBackend();
    setBackend(backend);
    try {
      const mnist = new data.MNIST({ train: false });
      const order = Int32Array.from({ length: 64 * 7 }, (_, i) => (i * 7919) % mnist.length);
      const fresh = [...new data.DataLoader(mnist, { batchSize: 64, sampler: order })];
      const kept: Tensor[] = [];
      let b = 0;
      for (const [x, y] of new data.DataLoader(mnist, { batchSize: 64, sampler: order, reuseBuffers: true })) {
        assert.deepEqual(x!.dataSync(), fresh[b]![0]!.dataSync(), `images of batch ${b}`);
        assert.deepEqual(y!.dataSync(), fresh[b]![1]!.dataSync(), `labels of batch ${b}`);
        if (b >= 2) assert.deepEqual(kept[b - 2]!.dataSync(), fresh[b - 2]![0]!.dataSync(), 'the batch before last is intact');
        if (b >= 4) assert.equal(x!.data, kept[b - 4]!.data);
        kept.push(x!);
        b++;
      }
      assert.equal(new Set(kept.map((x) => x.data)).size, 4);
    } finally {
      setBackend(prev);
    }
  });
}
