/**
 * nn against PyTorch 1.13 (test/fixtures/nn.json from scripts/fixtures/gen_nn.py): every layer and
 * loss, forward and gradients, in float64 to 1e-6 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nb from '../src/index.js';
import { assertClose } from './helpers/assert.js';
import { type StoredTensor, fromStored, loadFixture } from './helpers/fixtures.js';

const { nn } = nb;
type Tensor = nb.Tensor;

interface LayerSpec { type: string; [k: string]: unknown }
interface LayerCase {
  name: string; layer: LayerSpec; state: Record<string, StoredTensor>;
  input: StoredTensor; output: StoredTensor; upstream: StoredTensor; gradInput: StoredTensor;
  gradParams: Record<string, StoredTensor>; repr: string;
}
interface LossCase {
  name: string; fn: string; reduction: 'mean' | 'sum' | 'none'; opts: Record<string, StoredTensor | number>;
  input: StoredTensor; target: StoredTensor; output: StoredTensor; upstream: StoredTensor;
  gradInput: StoredTensor; gradTarget?: StoredTensor;
}
interface Fixture { layers: LayerCase[]; losses: LossCase[] }

const fx = loadFixture<Fixture>('nn');
const tol = { rtol: 1e-6, atol: 1e-12 };

function build(spec: LayerSpec): nb.nn.Module {
  switch (spec.type) {
    case 'Linear': return new nn.Linear(spec.in as number, spec.out as number, { bias: spec.bias as boolean | undefined, dtype: 'float64' });
    case 'Sigmoid': return new nn.Sigmoid();
    case 'ReLU': return new nn.ReLU();
    case 'Tanh': return new nn.Tanh();
    case 'LeakyReLU': return new nn.LeakyReLU({ negativeSlope: spec.negativeSlope as number | undefined });
    case 'GELU': return new nn.GELU({ approximate: spec.approximate as 'tanh' | undefined });
    case 'Softmax': return new nn.Softmax({ dim: spec.dim as number });
    case 'LogSoftmax': return new nn.LogSoftmax({ dim: spec.dim as number });
    case 'Flatten': return new nn.Flatten(spec.startDim as number | undefined, spec.endDim as number | undefined);
    case 'Identity': return new nn.Identity();
    case 'Dropout': { const d = new nn.Dropout(spec.p as number); if (spec.eval) d.eval(); return d; }
    case 'Sequential': return new nn.Sequential(...(spec.layers as LayerSpec[]).map(build));
    default: throw new Error(`unknown layer ${spec.type}`);
  }
}

for (const c of fx.layers) {
  test(`layer vs PyTorch: ${c.name}`, () => {
    const layer = build(c.layer);
    const state = Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromStored(v)]));
    layer.loadStateDict(state);
    const x = fromStored(c.input, 'float64', true);
    const y = layer.call(x) as Tensor;
    assertClose(y, fromStored(c.output), tol, `${c.name} output`);
    y.mul(fromStored(c.upstream)).sum().backward();
    assertClose(x.grad!, fromStored(c.gradInput), tol, `${c.name} grad input`);
    const params = Object.fromEntries(layer.namedParameters());
    assert.deepEqual(Object.keys(params).sort(), Object.keys(c.gradParams).sort());
    for (const [k, g] of Object.entries(c.gradParams)) assertClose(params[k]!.grad!, fromStored(g), tol, `${c.name} grad ${k}`);
    assert.equal(layer.toString(), c.repr);
  });
}

const LOSSES: Record<string, (x: Tensor, t: Tensor, o: Record<string, unknown>) => Tensor> = {
  mseLoss: (x, t, o) => nn.F.mseLoss(x, t, o),
  l1Loss: (x, t, o) => nn.F.l1Loss(x, t, o),
  binaryCrossEntropy: (x, t, o) => nn.F.binaryCrossEntropy(x, t, o),
  binaryCrossEntropyWithLogits: (x, t, o) => nn.F.binaryCrossEntropyWithLogits(x, t, o),
  crossEntropy: (x, t, o) => nn.F.crossEntropy(x, t, o),
  nllLoss: (x, t, o) => nn.F.nllLoss(x, t, o),
};

const MODULES: Record<string, (o: Record<string, unknown>) => nb.nn.Module> = {
  mseLoss: (o) => new nn.MSELoss(o),
  l1Loss: (o) => new nn.L1Loss(o),
  binaryCrossEntropy: (o) => new nn.BCELoss(o),
  binaryCrossEntropyWithLogits: (o) => new nn.BCEWithLogitsLoss(o),
  crossEntropy: (o) => new nn.CrossEntropyLoss(o),
  nllLoss: (o) => new nn.NLLLoss(o),
};

function lossOpts(c: LossCase): Record<string, unknown> {
  const o: Record<string, unknown> = { reduction: c.reduction };
  for (const [k, v] of Object.entries(c.opts)) o[k] = typeof v === 'number' ? v : fromStored(v);
  return o;
}

for (const c of fx.losses) {
  test(`loss vs PyTorch: ${c.name}`, () => {
    const x = fromStored(c.input, 'float64', true);
    const isIndex = c.target.dtype.startsWith('int');
    const t = fromStored(c.target, isIndex ? 'int32' : 'float64', !!c.gradTarget);
    const out = LOSSES[c.fn]!(x, t, lossOpts(c));
    assertClose(out, fromStored(c.output), tol, `${c.name} value`);
    assert.deepEqual(out.shape, c.output.shape);
    out.mul(fromStored(c.upstream)).sum().backward();
    assertClose(x.grad!, fromStored(c.gradInput), tol, `${c.name} grad input`);
    if (c.gradTarget) assertClose(t.grad!, fromStored(c.gradTarget), tol, `${c.name} grad target`);
    // the module form gives the same value
    const m = MODULES[c.fn]!(lossOpts(c));
    assertClose(m.call(x.detach(), t.detach()) as Tensor, fromStored(c.output), tol, `${c.name} module value`);
  });
}
