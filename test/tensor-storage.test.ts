/** Result storage: mid-size kernel outputs share ArrayBuffers (slabs) without ever overlapping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { allocateUninitialized, type DType } from '../src/tensor/dtype.js';

test('allocateUninitialized: same-size arrays share buffers but never overlap, every dtype aligned', () => {
  for (const [dtype, size] of [['float32', 640], ['float64', 33], ['int32', 17], ['bool', 101], ['float32', 16384], ['float32', 50176]] as [DType, number][]) {
    const arrays = Array.from({ length: 20 }, () => allocateUninitialized(dtype, size));
    arrays.forEach((a, i) => {
      assert.equal(a.length, size);
      assert.equal(a.byteOffset % a.BYTES_PER_ELEMENT, 0);
      a.fill(i + 1);
    });
    arrays.forEach((a, i) => assert.ok(a.every((v) => v === i + 1), `${dtype}[${size}] #${i} was overwritten`));
    assert.ok(new Set(arrays.map((a) => a.buffer)).size < arrays.length, 'mid-size arrays share buffers');
  }
  // large arrays get their own buffer
  const big = allocateUninitialized('float32', (1 << 16) + 4);
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, (1 << 18) + 16);
});

test('op results and gradients stay independent when their storage is shared', () => {
  const x = nb.randn([64, 10], { requiresGrad: true });
  const outs = Array.from({ length: 12 }, (_, i) => x.mul(i));
  outs.forEach((o, i) => assert.ok(Math.abs(o.sum().item() - i * x.sum().item()) < 1e-3 * (1 + i)));
  const loss = outs.reduce((a, b) => a.add(b)).sigmoid().sum();
  loss.backward();
  const g = x.grad!.clone();
  outs[0]!.data.fill(123); // writing one result's storage leaves the others and the gradient alone
  assert.ok(Math.abs(outs[3]!.sum().item() - 3 * x.sum().item()) < 1e-2);
  assert.deepEqual(Array.from(x.grad!.data), Array.from(g.data));
});
