/**
 * Every op case of test/op-cases.ts against PyTorch (test/fixtures/ops.json, from scripts/fixtures/gen_ops.py):
 * forward values, dtypes and shapes, gradients of sum(out · w), and gradients of gradients for the cases
 * that have them, all in float64 to 1e-6 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, setBackend } from '../src/index.js';
import { assertClose } from './helpers/assert.js';
import { type StoredTensor, nablaDType } from './helpers/fixtures.js';
import { loadOpsFixture, opCases, runOpCase } from './op-cases.js';


// the reference kernels are the oracle here; other backends are compared with them through op-cases.ts
setBackend('cpu');
const fixture = loadOpsFixture();
const TOL = { rtol: 1e-6, atol: 1e-10 };

test('the case table and the fixture list the same cases with the same input specs', () => {
  const ts = opCases.map((c) => c.name).sort(), py = Object.keys(fixture.cases).sort();
  assert.deepEqual(ts, py, 'test/op-cases.ts and scripts/fixtures/gen_ops.py must list the same case names (rerun the script)');
  for (const c of opCases) {
    const stored = fixture.cases[c.name]!.inputs;
    assert.deepEqual(Object.keys(stored).sort(), Object.keys(c.inputs).sort(), `${c.name}: input names`);
    for (const [k, s] of Object.entries(c.inputs)) {
      assert.deepEqual(stored[k]!.shape, s.shape, `${c.name}: shape of input ${k}`);
      const dtype = s.dtype === 'float' ? 'float64' : s.dtype;
      assert.equal(nablaDType(stored[k]!.dtype), dtype, `${c.name}: dtype of input ${k}`);
    }
    assert.equal(!!fixture.cases[c.name]!.doubleBackward, !!c.doubleBackward, `${c.name}: double-backward flag`);
  }
});

const allZero = (s: StoredTensor): boolean => s.data.every((v) => v === 0);

function compareGrad(what: string, actual: Tensor | null | undefined, expected: StoredTensor | null | undefined): void {
  if (!expected) {
    // PyTorch returns None where nabla may return explicit zeros (and the reverse): both mean "no gradient"
    if (actual) assertClose(actual, new Array<number>(actual.size).fill(0), TOL, `${what} (PyTorch: none)`);
    return;
  }
  if (!actual) {
    assert.ok(allZero(expected), `${what}: nabla gives no gradient, PyTorch gives non-zero values`);
    return;
  }
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assertClose(actual, expected.data as number[], TOL, what);
}

for (const c of opCases) {
  test(`${c.op}: ${c.name} matches PyTorch`, () => {
    const fx = fixture.cases[c.name];
    assert.ok(fx, `no fixture for ${c.name}`);
    const r = runOpCase(c, fx, { dtype: 'float64', doubleBackward: true });
    assert.equal(r.outputs.length, fx.outputs.length, 'number of outputs');
    r.outputs.forEach((o, i) => {
      const e = fx.outputs[i]!;
      assert.deepEqual(o.shape, e.shape, `output ${i}: shape`);
      assert.equal(o.dtype, nablaDType(e.dtype), `output ${i}: dtype`);
      assertClose(o, e.data as number[], TOL, `output ${i}`);
    });
    for (const k of Object.keys(c.inputs)) compareGrad(`gradient of ${k}`, r.grads[k], fx.grads[k]);
    if (c.doubleBackward) {
      assert.ok(r.doubleGrads, 'double backward ran');
      for (const k of Object.keys(c.inputs)) compareGrad(`double-backward gradient of ${k}`, r.doubleGrads[k], fx.doubleBackward!.grads[k]);
    }
  });
}
