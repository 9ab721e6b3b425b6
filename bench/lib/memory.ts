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

/**
 * issue 13 (rss): the `NODE_OPTIONS` the README gives for `breakglass serve`, with which the bench
 * runs its server child (`BENCH_SERVER_NODE_OPTIONS` overrides it; empty for Node's defaults).
 *
 * Why: the server's peak RSS is V8's old generation filling with garbage between full
 * collections under a high request rate, not data the server holds (its heap after a full GC
 * stays at 35-45 MiB: loaded code and modules; an active grant adds about 0.5 KiB, its
 * expiry-watch entry). V8 lets the old generation grow to up to 4x the live heap before a full
 * collection when its heap limit is 2 GiB or more (Node's default with 8 GiB of memory or more)
 * and scales that factor down with the limit: a 1 GiB limit gives about 1.6x. The limit itself
 * stays far above what the server holds.
 */
export const serveNodeOptions = '--max-old-space-size=1024';
