/**
 * The reusable backend comparison of test/op-cases.ts: the float32 reference kernels against float64 on the
 * same float32-rounded inputs, and the harness itself (any backend other than 'cpu' is tested by its own file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, listBackends } from '../src/index.js';
import { compareOpCases, opCases, runOpCasesAgainstReference } from './op-cases.js';

test('cpu float32 agrees with cpu float64 on every case (float32 rounding only)', () => {
  const results = compareOpCases({ backend: 'cpu', dtype: 'float32' }, { backend: 'cpu', dtype: 'float64' }, { rtol: 1e-5, atol: 1e-5 });
  assert.equal(results.length, opCases.length);
  const bad = results.filter((r) => !r.ok);
  assert.deepEqual(bad.map((r) => `${r.name}: ${r.message}`), []);
});

test('runOpCasesAgainstReference runs every case and restores the backend', () => {
  const before = getBackend();
  const results = runOpCasesAgainstReference('cpu', 'float64', { rtol: 0, atol: 0 });
  assert.equal(getBackend(), before);
  assert.deepEqual(results.map((r) => r.name), opCases.map((c) => c.name));
  assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`), []); // the reference is deterministic
  assert.ok(listBackends().includes('cpu'));
  assert.throws(() => runOpCasesAgainstReference('no-such-backend', 'float32', { rtol: 1e-5, atol: 1e-6 }), /compareOpCases: backend 'no-such-backend' is not registered \(registered: cpu/);
  assert.equal(getBackend(), before);
});

test('compareOpCases reports a differing case with its worst element', () => {
  // float32 against float64 with a zero tolerance must flag rounding differences somewhere, and name them
  const r = compareOpCases({ backend: 'cpu', dtype: 'float32' }, { backend: 'cpu', dtype: 'float64' }, { rtol: 0, atol: 0 }, ['softmax']);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.ok, false);
  assert.match(r[0]!.message, /^output 0: element \d+ is [-\d.e]+ on cpu\/float32, [-\d.e]+ on cpu\/float64/);
});
