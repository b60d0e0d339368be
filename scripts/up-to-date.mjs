/**
 * Whether a build step's outputs are newer than its inputs, so that running it again (as `npx nabla …` does: npm
 * reinstalls the project into its cache, which reruns `prepare` and `install`) can skip the work.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Modification time of a file, or the newest of the files in a directory (one level deep). */
function newest(p) {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => statSync(path.join(p, f)).mtimeMs));
}

/** True when every output exists and none is older than the newest input (files or directories). */
export function upToDate(outputs, inputs) {
  if (!outputs.every((o) => existsSync(o))) return false;
  const oldestOutput = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  return inputs.every((i) => !existsSync(i) || newest(i) <= oldestOutput);
}
