/** Running test code on a chosen backend, the previous one restored afterwards (even when the code throws). */
import { getBackend, setBackend } from '../../src/index.js';

/** fn's result with `name` as the current backend. */
export function onBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}
