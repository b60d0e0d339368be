/** Whether ops record the graph. Synchronous scopes, as torch.no_grad / torch.enable_grad. */
let enabled = true;

export const isGradEnabled = (): boolean => enabled;

export function setGradEnabled(flag: boolean): void {
  enabled = flag;
}

function withMode<T>(flag: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = flag;
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('noGrad/enableGrad: the function must be synchronous; use setGradEnabled around async code');
    return r;
  } finally {
    enabled = prev;
  }
}

/** Run fn without recording the graph (evaluation, optimizer updates). */
export const noGrad = <T>(fn: () => T): T => withMode(false, fn);

/** Run fn with recording on, even inside noGrad. */
export const enableGrad = <T>(fn: () => T): T => withMode(true, fn);
