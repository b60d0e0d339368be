// Full-epoch MNIST runs on the real files (tens of seconds each on the reference backend): keep them few.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from '../src/cli/run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the classic recipe (`nabla train` defaults), 1 epoch: the classic log and ≥ 50 % test accuracy', async () => {
  const out: string[] = [], err: string[] = [];
  const code = await main(['train', '--no-progress'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  assert.deepEqual(err, []);
  assert.equal(code, 0);
  assert.match(out[0]!, /^nabla train: MLP 784-100-10, sigmoid hidden, sigmoid outputs; loss bce; SGD lr 0\.1; batch 64; 1 epoch; seed 0/);
  const logLines = out.filter((l) => l.startsWith('[1,'));
  assert.deepEqual(logLines.map((l) => l.slice(0, 17)), [100, 200, 300, 400, 500, 600, 700, 800, 900].map((b) => `[1,   ${b}] loss: `));
  for (const l of logLines) assert.match(l, /^\[1, {3}\d00\] loss: 0\.\d{3}$/);
  const last = out.at(-1)!;
  const m = /^Accuracy of the network on the 10000 test images: ([\d.]+) %$/.exec(last);
  assert.ok(m, last);
  const acc = Number(m[1]);
  // PyTorch: 56-64 % after one epoch of this recipe
  assert.ok(acc >= 50, `classic recipe reached ${acc} %`);
});

test('the README\'s training example (ReLU + CrossEntropy + SGD(lr 0.05, momentum 0.9), 1 epoch, library API) reaches ≥ 95 %', () => {
  // the ```ts block of the README section "Training on MNIST", run as written but against src/
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Training on MNIST'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'the section has a ```ts example');
  assert.match(code, /from 'nabla';/);
  const dir = mkdtempSync(join(tmpdir(), 'nabla-readme-'));
  try {
    const file = join(dir, 'example.mts');
    writeFileSync(file, code.replace("from 'nabla';", `from ${JSON.stringify(pathToFileURL(join(root, 'src', 'index.ts')).href)};`));
    const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), file], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    assert.equal(out.split('\n').filter((l) => /^\[1, {3}\d00\] loss: \d\.\d{3}$/.test(l)).length, 9);
    const acc = Number(/^test accuracy ([\d.]+) %$/m.exec(out)?.[1]);
    // PyTorch: 95.5 % after one epoch
    assert.ok(acc >= 95, `reached ${acc} %\n${out}`);
    assert.match(out, /^true\\pred +0 +1 +2 +3 +4 +5 +6 +7 +8 +9$/m);
    assert.ok(existsSync(join(dir, 'mnist.safetensors')), 'the example saved its checkpoint');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
