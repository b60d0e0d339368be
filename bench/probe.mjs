/**
 * The machine's speed, as the benchmark sees it between its rows: an integer loop whose four independent chains keep
 * a core's execution units busy (no memory traffic), run on two threads at once (this process and a worker), each
 * timed in 7 slices of 20 ms. Prints one JSON line: { rates: [main, worker] }, in billions of turns of the loop a
 * second (medians).
 *
 * On the development VM the rate drops by about a third for seconds at a time, while a loop that waits on its own
 * results (one chain) keeps its speed, as when another thread shares the physical core; everything that fills a core
 * (matrix products, the training step, PyTorch alike) runs slower then. run.mjs runs this before and after every row.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

function loop() {
  let a = 1, b = 2, c = 3, d = 4;
  for (let i = 0; i < 100000; i++) { a = (a + i) | 0; b = (b ^ i) | 0; c = (c + (i << 1)) | 0; d = (d - i) | 0; }
  return a + b + c + d;
}

/** The loop's median rate over 7 slices of 20 ms, after a short warm-up. */
function rate() {
  let sink = 0;
  for (let i = 0; i < 100; i++) sink += loop();
  const slices = [];
  for (let s = 0; s < 7; s++) {
    const t = performance.now();
    let n = 0;
    while (performance.now() - t < 20) { sink += loop(); n++; }
    slices.push((n * 1e5) / ((performance.now() - t) * 1e6));
  }
  if (sink === 0.5) console.log(sink); // (never: keeps the loop's result alive)
  return slices.sort((x, y) => x - y)[3];
}

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url));
  // both threads start when the worker is up, so that the two slices overlap
  await new Promise((resolve) => worker.once('message', resolve));
  worker.postMessage('go');
  const mine = rate();
  const theirs = await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  console.log(JSON.stringify({ rates: [mine, theirs] }));
} else {
  parentPort.once('message', () => parentPort.postMessage(rate()));
  parentPort.postMessage('ready');
}
