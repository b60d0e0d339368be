// The README's example must run as written, against the built package (`import ... from 'nabla'`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the README example runs as written', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'README has a ```ts example');
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const file = join(root, 'tmp', 'readme-example.ts');
  writeFileSync(file, code);
  const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' });
  assert.match(out, /^tensor\(\[\[/);
  assert.match(out, /\[ 2, 3 \]/);
  assert.match(out, /true\s*$/);
});
