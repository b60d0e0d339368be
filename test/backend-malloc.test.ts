/**
 * malloc's thresholds when the native addon is not loaded (src/backend/malloc.ts): with glibc, a large tensor's storage
 * freed by the collector is reused by the next one instead of being unmapped, so it is not paid for again in page
 * faults. Counted in fresh processes without the addon, with and without NABLA_MALLOC_TUNING=0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Page faults of 10 rounds of eight fresh 1 MiB tensors written and collected, after importing nabla. */
function faults(env: Record<string, string>): number {
  const code = `
    const { zeros } = await import('./src/index.ts');
    gc(); // frees the block malloc.ts drops
    const use = () => {
      const ts = [];
      for (let k = 0; k < 8; k++) { const t = zeros([1 << 18]); t.data.fill(1); ts.push(t); }
      ts.length = 0;
      gc(); // their 8 MiB freed at once, at the top of the heap: trimmed away unless the threshold is up
    };
    use();
    const f0 = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 10; i++) use();
    console.log(process.resourceUsage().minorPageFault - f0);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--single-threaded-gc', '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root, env: { ...process.env, NABLA_NATIVE: '0', NABLA_BACKEND: 'cpu', ...env }, encoding: 'utf8', timeout: 60000,
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  return Number(r.stdout.trim().split('\n').pop());
}

test('without the addon, freed large tensors are reused rather than faulted in again (glibc)', (t) => {
  if (process.platform !== 'linux') { t.skip('glibc only'); return; }
  const untuned = faults({ NABLA_MALLOC_TUNING: '0' });
  // 80 MiB written are 20 480 pages; an allocator that keeps freed memory mapped has nothing to show here
  if (untuned < 1500) { t.skip(`this allocator keeps freed memory mapped (${untuned} faults untuned)`); return; }
  const tuned = faults({});
  assert.ok(tuned < untuned / 4, `page faults: ${tuned} with the thresholds raised, ${untuned} without`);
});
