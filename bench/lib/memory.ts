import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * A full GC before a memory measurement makes "heap growth" mean memory the measured work
 * holds, not garbage left by the previous bench. `npm run bench` runs plain `node`, so the gc
 * function is obtained the documented way for a running process: set --expose-gc, then read
 * `gc` from a fresh context (contexts created after the flag is set get it).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

export function collectGarbage(): void {
  gc?.();
}

const mb = (bytes: number) => bytes / (1024 * 1024);

/**
 * Tracks the highest heapUsed seen by `sample()` calls, relative to a post-GC starting point.
 * A plain sample includes garbage not yet collected, so its peak is an upper bound of what the
 * work holds; `sample(true)` collects first and sees only live memory (slower: use it in an
 * untimed run). Sample at the moments the work holds the most (after a page is loaded).
 */
export interface HeapTracker {
  sample(collect?: boolean): void;
  /** Peak heapUsed growth over the starting point, in MiB. */
  peakGrowthMb(): number;
  /** Live heap growth now (after a full GC) over the starting point, in MiB. */
  retainedMb(): number;
}

export function trackHeap(): HeapTracker {
  collectGarbage();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  return {
    sample(collect = false) {
      if (collect) collectGarbage();
      const used = process.memoryUsage().heapUsed;
      if (used > peak) peak = used;
    },
    peakGrowthMb: () => mb(peak - base),
    retainedMb() {
      collectGarbage();
      // Below the start (the work freed more than it kept) counts as nothing held.
      return Math.max(0, mb(process.memoryUsage().heapUsed - base));
    },
  };
}

/** Peak resident set size of the whole process so far, in MiB (monotonic). */
export function peakRssMb(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}
