/**
 * nn.Sequential runs ReLU → MaxPool2d as max-pool then ReLU (less work): the same values and the same
 * gradients as the modules applied in the written order, ties, all-negative windows, zeros and NaN included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';

const { nn } = nb;

function grads(run: (x: nb.Tensor) => nb.Tensor, x0: nb.Tensor, g: nb.Tensor): [Float32Array, Float32Array] {
  const x = x0.clone().requiresGrad_();
  const y = run(x);
  y.backward(g);
  return [Float32Array.from(y.data as Float32Array), Float32Array.from(x.grad!.data as Float32Array)];
}

for (const backend of nb.listBackends()) {
  test(`${backend}: Sequential(ReLU, MaxPool2d) equals relu then max-pool, values and gradients, bit for bit`, () => {
    const prev = nb.getBackend();
    nb.setBackend(backend);
    try {
      const gen = new nb.Generator(4);
      // integers in [-3, 3] make ties, zeros and all-negative windows common
      const x = nb.randint(-3, 4, [3, 4, 9, 10], { generator: gen }).float();
      (x.data as Float32Array)[5] = NaN;
      const cases: [number, { stride?: number; padding?: number; ceilMode?: boolean; dilation?: number }][] = [[2, {}], [3, { stride: 1 }], [3, { padding: 1, stride: 2 }], [2, { ceilMode: true }], [2, { dilation: 2 }]];
      for (const [k, opts] of cases) {
        const pool = new nn.MaxPool2d(k, opts);
        const seq = new nn.Sequential(new nn.ReLU(), pool);
        const shape = seq.call(x).shape;
        const g = nb.randn(shape, { generator: gen });
        const [y1, g1] = grads((t) => seq.call(t), x, g);
        const [y2, g2] = grads((t) => pool.call(nn.F.relu(t)), x, g);
        assert.deepEqual(y1, y2, JSON.stringify(opts));
        assert.deepEqual(g1, g2, JSON.stringify(opts));
      }
    } finally { nb.setBackend(prev); }
  });
}

test('only the exact pair is reordered: other modules run in the written order', () => {
  const x = nb.randn([2, 3, 8, 8]);
  const seq = new nn.Sequential(new nn.MaxPool2d(2), new nn.ReLU(), new nn.AvgPool2d(2), new nn.Tanh());
  assert.deepEqual([...seq.call(x).data], [...nn.F.tanh(new nn.AvgPool2d(2).call(nn.F.relu(new nn.MaxPool2d(2).call(x)))).data]);
});
