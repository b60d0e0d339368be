/**
 * Seeded randomness: manualSeed and Generator objects reproduce every random op; Generator state can be
 * saved and restored mid-stream; values have the right ranges and (seeded, so exact) statistics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const draw = (g?: nb.Generator): number[][] => [
  Array.from(nb.rand([5], { generator: g }).dataSync()),
  Array.from(nb.randn([5], { generator: g, dtype: 'float64' }).dataSync()),
  Array.from(nb.randint(-3, 9, [5], { generator: g }).dataSync()),
  Array.from(nb.randperm(7, { generator: g }).dataSync()),
];

test('manualSeed makes the default generator reproducible', () => {
  nb.manualSeed(123);
  const a = draw();
  nb.manualSeed(123);
  assert.deepEqual(draw(), a);
  nb.manualSeed(124);
  assert.notDeepEqual(draw(), a);
  nb.manualSeed(2 ** 40 + 5); // large seeds use all their bits
  const big = draw();
  nb.manualSeed(5);
  assert.notDeepEqual(draw(), big);
});

test('a Generator object is independent of the default generator', () => {
  const g1 = new nb.Generator(7), g2 = new nb.Generator(7);
  const a = draw(g1);
  nb.manualSeed(0);
  nb.randn([100]); // advancing the default generator changes nothing for g2
  assert.deepEqual(draw(g2), a);
  assert.equal(g1.manualSeed(7), g1);
  assert.deepEqual(draw(g1), a);
});

test('getState/setState resume a stream exactly, including a pending normal', () => {
  const g = new nb.Generator(99);
  nb.randn([3], { generator: g }); // odd count: one Box–Muller value is pending
  const state = g.getState();
  const after = draw(g);
  g.setState(state);
  assert.deepEqual(draw(g), after);
  const h = new nb.Generator(1).setState(state);
  assert.deepEqual(draw(h), after);
  assert.throws(() => g.setState([1, 2]), /Generator.setState: expected 5 numbers, got 2/);
});

test('ranges and statistics of the random ops', () => {
  const g = new nb.Generator(2024);
  const u = nb.rand([20000], { generator: g, dtype: 'float64' });
  assert.ok(u.min().item() >= 0 && u.max().item() < 1);
  assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01);
  const z = nb.randn([20000], { generator: g, dtype: 'float64' });
  assert.ok(Math.abs(z.mean().item()) < 0.03);
  assert.ok(Math.abs(z.std().item() - 1) < 0.03);
  const k = nb.randint(-2, 3, [5000], { generator: g });
  assert.equal(k.dtype, 'int32');
  assert.equal(k.min().item(), -2);
  assert.equal(k.max().item(), 2);
  const p = Array.from(nb.randperm(50, { generator: g }).dataSync()).sort((a, b) => a - b);
  assert.deepEqual(p, Array.from({ length: 50 }, (_, i) => i));
});

test('the *Like forms keep shape and dtype and use the generator', () => {
  const x = nb.zeros([2, 3], { dtype: 'float64' });
  const a = nb.randnLike(x, { generator: new nb.Generator(3) }), b = nb.randnLike(x, { generator: new nb.Generator(3) });
  assert.deepEqual(a.shape, [2, 3]);
  assert.equal(a.dtype, 'float64');
  assert.deepEqual(a.toArray(), b.toArray());
  assert.equal(nb.randLike(x).dtype, 'float64');
  const i = nb.randintLike(nb.zeros([4], { dtype: 'int32' }), 0, 2);
  assert.equal(i.dtype, 'int32');
  assert.equal(nb.rand([2], { requiresGrad: true }).requiresGrad, true);
});

test('randperm draws as n − 1 randint calls would (Fisher–Yates from the end), leaving the generator in the same state', () => {
  for (const [seed, n] of [[0, 1], [1, 2], [7, 10], [123, 1000], [2 ** 33 + 9, 60000]] as const) {
    const g = new nb.Generator(seed), ref = new nb.Generator(seed);
    const expect = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = ref.randint(0, i + 1);
      const t = expect[i]!; expect[i] = expect[j]!; expect[j] = t;
    }
    assert.deepEqual(nb.randperm(n, { generator: g }).dataSync(), expect, `seed ${seed}, n ${n}`);
    assert.deepEqual(g.getState(), ref.getState());
  }
});
