/**
 * Views share storage: transpose, permute, expand, reshape/view of contiguous data, squeeze, unsqueeze,
 * slicing and detach make no copy; contiguous() copies only when needed; gradients still flow through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const base = (): nb.Tensor => nb.arange(24).reshape(2, 3, 4);

test('shape ops on contiguous data are views of the same storage', () => {
  const x = base();
  const views: [string, nb.Tensor][] = [
    ['transpose', x.transpose(0, 2)], ['permute', x.permute(2, 0, 1)], ['mT', x.mT], ['T', x.select(0, 1).T],
    ['reshape', x.reshape(6, 4)], ['view', x.view(-1)], ['flatten', x.flatten(1)], ['unsqueeze', x.unsqueeze(1)],
    ['squeeze', x.unsqueeze(0).squeeze(0)], ['expand', x.select(2, 0).unsqueeze(0).expand(5, 2, 3)],
    ['slice', x.slice(2, 1, 3)], ['narrow', x.narrow(1, 1, 2)], ['select', x.select(1, 2)], ['detach', x.detach()],
    ['contiguous of contiguous', x.contiguous()], ['reshape of a row slice', x.slice(0, 1, 2).reshape(12)],
  ];
  for (const [name, v] of views) assert.equal(v.data, x.data, `${name} copied its input`);
  assert.equal(x.contiguous(), x);
  assert.equal(x.reshape(2, 3, 4), x);
});

test('view metadata: strides and offsets', () => {
  const x = base();
  assert.deepEqual(x.strides, [12, 4, 1]);
  const t = x.transpose(0, 2);
  assert.deepEqual(t.shape, [4, 3, 2]);
  assert.deepEqual(t.strides, [1, 4, 12]);
  assert.equal(t.isContiguous(), false);
  const e = nb.arange(3).reshape(3, 1).expand(3, 4);
  assert.deepEqual(e.strides, [1, 0]);
  const s = x.select(1, 2);
  assert.equal(s.offset, 8);
  assert.deepEqual(s.toArray(), [[8, 9, 10, 11], [20, 21, 22, 23]]);
  const st = nb.arange(10).slice(0, 1, 8, 3);
  assert.deepEqual([st.offset, ...st.strides], [1, 3]);
  assert.deepEqual(st.toArray(), [1, 4, 7]);
});

test('writes through a view show in the base, and copies are independent', () => {
  const x = nb.zeros([2, 3]);
  x.select(1, 1).fill_(7);
  x.T.slice(0, 2).copy_(nb.tensor([[1, 2]]));
  assert.deepEqual(x.toArray(), [[0, 7, 1], [0, 7, 2]]);
  const c = x.clone();
  assert.notEqual(c.data, x.data);
  c.fill_(0);
  assert.equal(x.sum().item(), 17);
  const d = x.dataSync();
  d[0] = 100;
  assert.equal((x.toArray() as number[][])[0]![0], 0);
});

test('copies happen where a view is impossible: reshape/contiguous of a non-contiguous tensor', () => {
  const x = base();
  const t = x.transpose(1, 2);
  const r = t.reshape(2, 12);
  assert.notEqual(r.data, x.data);
  assert.deepEqual((r.toArray() as number[][])[0]!.slice(0, 4), [0, 4, 8, 1]);
  const c = t.contiguous();
  assert.notEqual(c.data, x.data);
  assert.equal(c.isContiguous(), true);
  assert.deepEqual(c.dataSync(), t.dataSync());
});

test('gradients flow through chains of views back to the base', () => {
  const x = nb.randn([2, 3, 4], { requiresGrad: true, dtype: 'float64' });
  const y = x.permute(2, 0, 1).reshape(4, 6).T.slice(0, 1, 5).select(1, 2).unsqueeze(0).expand(3, 4);
  y.sum().backward();
  const g = x.grad!.permute(2, 0, 1).reshape(4, 6).T; // element (j, 2) for j = 1..4 got 3
  assert.deepEqual(g.select(1, 2).toArray(), [0, 3, 3, 3, 3, 0]);
  assert.equal(x.grad!.sum().item(), 12);
});
