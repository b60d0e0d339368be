/** nn.Module behaviour: registration, names and state dicts as PyTorch's, loading, modes, init, repr. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { loadFixture } from './helpers/fixtures.js';

const { nn } = nb;
type Tensor = nb.Tensor;

interface ModulesFixture {
  sequential: { stateDict: Record<string, number[]>; keys: string[]; parameters: string[]; repr: string };
  net: {
    stateDict: Record<string, number[]>; keys: string[]; parameters: string[]; buffers: string[];
    modules: string[]; children: string[]; repr: string;
  };
  reprs: string[];
  lossBuffers: Record<string, string[]>;
}
const fx = loadFixture<{ modules: ModulesFixture }>('nn').modules;

// The same structure as Block and Net in scripts/fixtures/gen_nn.py.
class Block extends nn.Module {
  fc = new nn.Linear(3, 4);
  act = new nn.ReLU();
  layers = new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 2)]);
  declare scale: Tensor;
  declare scratch: Tensor;
  constructor() {
    super();
    this.registerBuffer('scale', nb.ones([2]));
    this.registerBuffer('scratch', nb.zeros([1]), false);
  }
  override forward(x: Tensor): Tensor {
    let h = this.act.call(this.fc.call(x));
    for (const layer of this.layers) h = (layer as nb.nn.Linear).call(h);
    return h.mul(this.scale);
  }
}

class Net extends nn.Module {
  embed = new nn.Linear(2, 3);
  block = new Block();
  head = new nn.Sequential(new nn.Linear(2, 2), new nn.Sigmoid());
  offset = new nn.Parameter(nb.zeros([2]));
  override forward(x: Tensor): Tensor {
    return this.head.call(this.block.call(this.embed.call(x))).add(this.offset);
  }
}

const shapes = (sd: Record<string, Tensor>) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, [...v.shape]]));

test('Sequential: state dict keys, shapes, parameter names and repr equal PyTorch\'s', () => {
  const seq = new nn.Sequential(new nn.Linear(784, 100), new nn.Sigmoid(), new nn.Linear(100, 10), new nn.Sigmoid());
  assert.deepEqual(Object.keys(seq.stateDict()), fx.sequential.keys);
  assert.deepEqual(shapes(seq.stateDict()), fx.sequential.stateDict);
  assert.deepEqual(seq.namedParameters().map(([n]) => n), fx.sequential.parameters);
  assert.equal(seq.toString(), fx.sequential.repr);
  assert.equal(seq.length, 4);
  assert.ok(seq.at(-1) instanceof nn.Sigmoid);
  assert.equal([...seq].length, 4);
});

test('nested custom module: keys, names, buffers, modules, children and repr equal PyTorch\'s', () => {
  const net = new Net();
  assert.deepEqual(Object.keys(net.stateDict()), fx.net.keys);
  assert.deepEqual(shapes(net.stateDict()), fx.net.stateDict);
  assert.deepEqual(net.namedParameters().map(([n]) => n), fx.net.parameters);
  assert.deepEqual(net.namedBuffers().map(([n]) => n), fx.net.buffers);
  assert.deepEqual(net.namedModules().map(([n]) => n), fx.net.modules);
  assert.deepEqual(net.namedChildren().map(([n]) => n), fx.net.children);
  assert.equal(net.toString(), fx.net.repr);
  assert.equal(net.parameters().length, fx.net.parameters.length);
  assert.deepEqual(net.call(nb.randn([5, 2])).shape, [5, 2]);
});

test('layer and loss reprs equal PyTorch\'s', () => {
  const ms = [new nn.LeakyReLU({ negativeSlope: 0.2 }), new nn.GELU({ approximate: 'tanh' }), new nn.Softmax({ dim: 1 }),
    new nn.LogSoftmax({ dim: -1 }), new nn.Dropout(0.25), new nn.Flatten(), new nn.Identity(), new nn.Tanh(), new nn.MSELoss(),
    new nn.L1Loss(), new nn.BCELoss(), new nn.BCEWithLogitsLoss(), new nn.CrossEntropyLoss(), new nn.NLLLoss(),
    new nn.Linear(3, 2, { bias: false })];
  assert.deepEqual(ms.map(String), fx.reprs);
  const bce = new nn.BCEWithLogitsLoss({ weight: nb.ones([3]), posWeight: nb.ones([3]) });
  assert.deepEqual(Object.keys(bce.stateDict()), fx.lossBuffers.BCEWithLogitsLoss);
  assert.deepEqual(Object.keys(new nn.CrossEntropyLoss({ weight: nb.ones([3]) }).stateDict()), fx.lossBuffers.CrossEntropyLoss);
});

test('arrays of modules and of parameters assigned as fields are registered as name.0, name.1', () => {
  class M extends nn.Module {
    blocks = [new nn.Linear(2, 2), new nn.Linear(2, 1, { bias: false })];
    scales = [new nn.Parameter(nb.ones([1])), new nn.Parameter(nb.ones([1]))];
    notParams = [nb.ones([3])]; // plain tensors are not registered, as in PyTorch
    override forward(x: Tensor) { return x; }
  }
  assert.deepEqual(Object.keys(new M().stateDict()), ['scales.0', 'scales.1', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight']);
});

test('stateDict is detached and shares storage; loadStateDict copies into the existing storage', () => {
  nb.manualSeed(1);
  const a = new nn.Linear(3, 2), b = new nn.Linear(3, 2);
  const sd = a.stateDict();
  assert.equal(sd.weight!.requiresGrad, false);
  assert.equal(sd.weight!.data, a.weight.data);
  const storage = b.weight.data;
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(b.weight.data, storage, 'same storage after loading');
  assert.deepEqual(b.weight.toArray(), a.weight.toArray());
  assert.deepEqual(b.bias!.toArray(), a.bias!.toArray());
  assert.ok(b.weight.requiresGrad && b.weight.isLeaf);
  // float64 values load into a float32 model, converted
  const c = new nn.Linear(3, 2);
  c.loadStateDict({ weight: nb.ones([2, 3], { dtype: 'float64' }), bias: nb.zeros([2], { dtype: 'float64' }) });
  assert.equal(c.weight.dtype, 'float32');
  assert.deepEqual(c.weight.toArray(), [[1, 1, 1], [1, 1, 1]]);
});

test('loadStateDict: strict throws on missing and unexpected keys; non-strict reports them and loads the rest', () => {
  const net = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
  const full = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1)).stateDict();
  const partial: Record<string, Tensor> = { '0.weight': full['0.weight']!, '0.bias': full['0.bias']!, 'extra.weight': nb.ones([1]) };
  const before = net.stateDict()['0.weight']!.toArray();
  assert.throws(() => net.loadStateDict(partial), (e: Error) =>
    /missing key\(s\): '2\.weight', '2\.bias'/.test(e.message) && /unexpected key\(s\): 'extra\.weight'/.test(e.message) && /Sequential/.test(e.message));
  assert.deepEqual(net.stateDict()['0.weight']!.toArray(), before, 'a failed strict load writes nothing');
  const res = net.loadStateDict(partial, { strict: false });
  assert.deepEqual(res, { missingKeys: ['2.weight', '2.bias'], unexpectedKeys: ['extra.weight'] });
  assert.deepEqual(net.stateDict()['0.weight']!.toArray(), full['0.weight']!.toArray());
});

test('loadStateDict: a shape mismatch throws naming the key and both shapes, even when not strict', () => {
  const net = new nn.Sequential(new nn.Linear(784, 100), new nn.Sigmoid(), new nn.Linear(100, 10));
  const other = new nn.Sequential(new nn.Linear(784, 64), new nn.Sigmoid(), new nn.Linear(64, 10)).stateDict();
  for (const strict of [true, false]) {
    assert.throws(() => net.loadStateDict(other, { strict }), /size mismatch for '0\.weight'.*\[64, 784\].*\[100, 784\]/);
  }
});

test('buffers: persistent ones are saved, non-persistent and null ones are not; to() converts them', () => {
  class B extends nn.Module {
    declare running: Tensor; declare tmp: Tensor; declare none: Tensor | null;
    w = new nn.Parameter(nb.ones([2]));
    constructor() {
      super();
      this.registerBuffer('running', nb.zeros([2]));
      this.registerBuffer('tmp', nb.zeros([1]), false);
      this.registerBuffer('none', null);
    }
    override forward(x: Tensor) { return x; }
  }
  const m = new B();
  assert.deepEqual(Object.keys(m.stateDict()), ['w', 'running']);
  assert.deepEqual(m.namedBuffers().map(([n]) => n), ['running', 'tmp']);
  m.none = nb.ones([1]);
  assert.deepEqual(Object.keys(m.stateDict()), ['w', 'running', 'none']);
  m.double();
  assert.equal(m.running.dtype, 'float64');
  assert.equal((m.parameters()[0] as Tensor).dtype, 'float64');
  assert.throws(() => m.registerBuffer('w', nb.ones([1])), /already a parameter/);
});

test('train/eval reach every sub-module; zeroGrad clears gradients; requiresGrad_ freezes', () => {
  const net = new Net();
  net.eval();
  assert.ok(net.modules().every((m) => m.training === false));
  net.train();
  assert.ok(net.modules().every((m) => m.training === true));
  net.call(nb.randn([4, 2])).sum().backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  net.block.requiresGrad_(false);
  assert.ok(net.block.parameters().every((p) => !p.requiresGrad));
  assert.ok(net.embed.weight.requiresGrad);
  const visited: string[] = [];
  net.head.apply((m) => visited.push(m.constructor.name));
  assert.deepEqual(visited, ['Linear', 'Sigmoid', 'Sequential']);
});

test('a module used twice is one parameter set but runs twice, as in PyTorch', () => {
  const shared = new nn.Linear(2, 2);
  const seq = new nn.Sequential(shared, new nn.Tanh(), shared);
  assert.equal(seq.parameters().length, 2);
  assert.deepEqual(Object.keys(seq.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  const x = nb.randn([3, 2]);
  assert.deepEqual(seq.call(x).toArray(), shared.call(nb.tanh(shared.call(x))).toArray());
});

test('Linear: PyTorch\'s default init bounds, [out, in] layout, seeded and reproducible', () => {
  const lin = new nn.Linear(400, 300, { generator: new nb.Generator(7) });
  assert.deepEqual(lin.weight.shape, [300, 400]);
  const bound = 1 / Math.sqrt(400);
  const w = Array.from(lin.weight.dataSync()), b = Array.from(lin.bias!.dataSync());
  assert.ok(w.every((v) => Math.abs(v) <= bound) && b.every((v) => Math.abs(v) <= bound));
  // uniform over the whole interval: max near the bound, variance bound²/3
  assert.ok(Math.max(...w) > 0.99 * bound && Math.min(...w) < -0.99 * bound);
  const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
  assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.02, `variance ratio ${variance / (bound * bound / 3)}`);
  const again = new nn.Linear(400, 300, { generator: new nb.Generator(7) });
  assert.deepEqual(again.weight.dataSync(), lin.weight.dataSync());
  nb.manualSeed(3); const c = new nn.Linear(4, 2);
  nb.manualSeed(3); const d = new nn.Linear(4, 2);
  assert.deepEqual(c.weight.dataSync(), d.weight.dataSync());
  assert.equal(new nn.Linear(4, 2, { dtype: 'float64' }).weight.dtype, 'float64');
  assert.equal(new nn.Linear(4, 2, { bias: false }).bias, null);
});

test('Dropout: identity in eval; in training, zeroes about p and scales the rest by 1/(1−p), reproducibly', () => {
  const x = nb.ones([200, 100]);
  const d = new nn.Dropout(0.3, { generator: new nb.Generator(5) });
  const y = Array.from(d.call(x).dataSync());
  const zeros = y.filter((v) => v === 0).length / y.length;
  assert.ok(Math.abs(zeros - 0.3) < 0.01, `dropped ${zeros}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6));
  const again = new nn.Dropout(0.3, { generator: new nb.Generator(5) });
  assert.deepEqual(Array.from(again.call(x).dataSync()), y);
  d.eval();
  assert.equal(d.call(x), x);
  const g = nb.ones([4, 4], { requiresGrad: true });
  const out = nn.F.dropout(g, 0.5, { generator: new nb.Generator(1) });
  out.sum().backward();
  assert.deepEqual(g.grad!.toArray(), out.detach().toArray(), 'gradient is the mask scaled by 1/(1−p)');
  assert.deepEqual(nn.F.dropout(x, 1).toArray(), nb.zeros([200, 100]).toArray());
  assert.throws(() => new nn.Dropout(1.5), /between 0 and 1/);
});

test('nn.init: seeded, reproducible, with the right bounds and moments', () => {
  const t = nb.zeros([200, 300]);
  nn.init.uniform_(t, -2, 3, { generator: new nb.Generator(1) });
  const u = Array.from(t.dataSync());
  assert.ok(u.every((v) => v >= -2 && v < 3));
  const t2 = nb.zeros([200, 300]);
  nn.init.uniform_(t2, -2, 3, { generator: new nb.Generator(1) });
  assert.deepEqual(t2.dataSync(), t.dataSync());
  const stats = (x: Tensor) => {
    const v = Array.from(x.dataSync()); const m = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length), maxAbs: Math.max(...v.map(Math.abs)) };
  };
  const n = stats(nn.init.normal_(nb.zeros([200, 300]), 1, 0.5));
  assert.ok(Math.abs(n.mean - 1) < 0.01 && Math.abs(n.std - 0.5) < 0.01);
  const xu = stats(nn.init.xavierUniform_(nb.zeros([200, 300]), 2));
  assert.ok(xu.maxAbs <= 2 * Math.sqrt(6 / 500) && xu.maxAbs > 0.99 * 2 * Math.sqrt(6 / 500));
  const xn = stats(nn.init.xavierNormal_(nb.zeros([200, 300])));
  assert.ok(Math.abs(xn.std / Math.sqrt(2 / 500) - 1) < 0.02);
  const ku = stats(nn.init.kaimingUniform_(nb.zeros([200, 300]), { nonlinearity: 'relu' }));
  assert.ok(ku.maxAbs <= Math.sqrt(6 / 300) && ku.maxAbs > 0.99 * Math.sqrt(6 / 300));
  const kn = stats(nn.init.kaimingNormal_(nb.zeros([200, 300]), { mode: 'fanOut', nonlinearity: 'relu' }));
  assert.ok(Math.abs(kn.std / Math.sqrt(2 / 200) - 1) < 0.02);
  const conv = nb.zeros([8, 4, 3, 3]); // fan_in = 4·9
  const kc = stats(nn.init.kaimingUniform_(conv, { a: Math.sqrt(5) }));
  assert.ok(kc.maxAbs <= 1 / Math.sqrt(36));
  assert.deepEqual(nn.init.constant_(nb.zeros([2]), 0.5).toArray(), [0.5, 0.5]);
  assert.deepEqual(nn.init.ones_(nb.zeros([2])).toArray(), [1, 1]);
  assert.deepEqual(nn.init.zeros_(nb.ones([2])).toArray(), [0, 0]);
  assert.equal(nn.init.calculateGain('relu'), Math.SQRT2);
  assert.equal(nn.init.calculateGain('tanh'), 5 / 3);
  assert.equal(nn.init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(2 / 6));
  assert.equal(nn.init.calculateGain('selu'), 0.75);
  assert.throws(() => nn.init.xavierUniform_(nb.zeros([3])), /fewer than 2 dimensions/);
  // on a parameter (a leaf that requires grad), in place and outside the graph
  const p = new nn.Parameter(nb.zeros([3, 3]));
  nn.init.normal_(p);
  assert.equal(p.gradFn, null);
  assert.ok(p.requiresGrad);
});

test('Parameter shares the tensor\'s storage and prints as PyTorch', () => {
  const t = nb.tensor([1, 2]);
  const p = new nn.Parameter(t);
  assert.equal(p.data, t.data);
  assert.ok(p.requiresGrad && p.isLeaf);
  assert.ok(String(p).startsWith('Parameter containing:\ntensor([1., 2.]'));
  assert.equal(new nn.Parameter(t, false).requiresGrad, false);
});

test('Module.to converts parameters; call is forward', () => {
  nb.manualSeed(0);
  const net = new Net().double();
  assert.ok(net.parameters().every((p) => p.dtype === 'float64'));
  assert.equal(net.block.scale.dtype, 'float64');
  const x = nb.randn([2, 2], { dtype: 'float64' });
  assert.deepEqual(net.call(x).toArray(), net.forward(x).toArray());
  assert.equal(net.call(x).dtype, 'float64');
});

test('registerParameter and registerModule assign fields that register like any other', () => {
  class M extends nn.Module {
    constructor() {
      super();
      this.registerModule('body', new nn.Linear(2, 2));
      this.registerParameter('gain', new nn.Parameter(nb.ones([2])));
      this.registerParameter('shift', null);
    }
    override forward(x: Tensor) { return x; }
  }
  const m = new M();
  assert.deepEqual(Object.keys(m.stateDict()), ['gain', 'body.weight', 'body.bias']);
  assert.throws(() => m.registerParameter('w', nb.ones([1]) as nb.nn.Parameter), /must be an nn.Parameter or null/);
});
