/**
 * Training output: the classic log lines (`[1,   100] loss: 0.445`), and on a terminal a progress bar with
 * samples/s and ETA (npm cli-progress) that the log lines scroll above. Without a terminal: plain lines only.
 */
import type cliProgressTypes from 'cli-progress';
import { createRequire } from 'node:module';

/** cli-progress, loaded on the first bar (keeps `import 'nabla'` fast; most runs never draw one). */
let cliProgressModule: typeof cliProgressTypes | null = null;
function cliProgress(): typeof cliProgressTypes {
  cliProgressModule ??= createRequire(import.meta.url)('cli-progress') as typeof cliProgressTypes;
  return cliProgressModule;
}

/** `[epoch, batch] loss: x` exactly as the PyTorch tutorial prints it (`[%d, %5d] loss: %.3f`). */
export function formatRunningLoss(epoch: number, batch: number, loss: number): string {
  return `[${epoch}, ${String(batch).padStart(5)}] loss: ${loss.toFixed(3)}`;
}

/** Seconds as `12s`, `3m05s` or `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface Progress {
  /** A new epoch of `total` samples begins. */
  start(epoch: number, epochs: number, total: number): void;
  /** `done` samples of the epoch are processed; `loss` is the latest batch loss. */
  update(done: number, loss: number): void;
  /** Print a line (above the bar when there is one). */
  log(line: string): void;
  /** The epoch is over: remove the bar. */
  stop(): void;
}

/** Plain lines only (pipes, files, CI). */
export class LineProgress implements Progress {
  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}
  start(): void {}
  update(): void {}
  log(line: string): void { this.write(line); }
  stop(): void {}
}

/** A cli-progress bar on a terminal stream (default stdout), with samples/s and ETA. */
export class BarProgress implements Progress {
  private multi: cliProgressTypes.MultiBar | null = null;
  private bar: cliProgressTypes.SingleBar | null = null;
  private t0 = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {}

  start(epoch: number, epochs: number, total: number): void {
    this.stop();
    this.t0 = performance.now();
    this.multi = new (cliProgress().MultiBar)({
      stream: this.stream,
      format: `epoch ${epoch}/${epochs} {bar} {percentage}% | {value}/{total} | {rate} samples/s | loss {loss} | ETA {etaText}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      fps: 5,
      etaBuffer: 50,
    });
    this.bar = this.multi.create(total, 0, { rate: '-', loss: '-', etaText: '?' });
  }

  update(done: number, loss: number): void {
    if (!this.bar) return;
    const seconds = (performance.now() - this.t0) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const total = this.bar.getTotal();
    this.bar.update(done, {
      rate: rate > 0 ? rate.toFixed(0) : '-',
      loss: Number.isFinite(loss) ? loss.toFixed(3) : String(loss),
      etaText: rate > 0 ? formatDuration((total - done) / rate) : '?',
    });
  }

  log(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.multi) {
      this.multi.update(); // flush lines logged since the last redraw
      this.multi.stop();
    }
    this.multi = null;
    this.bar = null;
  }
}

/**
 * A bar on `stream` when it is a terminal ('auto') or always (true); plain lines through `write` otherwise.
 * With a bar, lines are printed above it on the same stream.
 */
export function createProgress(enabled: boolean | 'auto' = 'auto', write?: (line: string) => void, stream: NodeJS.WriteStream = process.stdout): Progress {
  const useBar = enabled === true || (enabled === 'auto' && stream.isTTY === true);
  return useBar ? new BarProgress(stream) : new LineProgress(write);
}
