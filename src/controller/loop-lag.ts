// How late this process's event loop runs what is ready, ms, lately: the time a request that reached the server's
// socket waits before the controller sees it (Node's event-loop delay histogram, read at most every 100 ms). One
// monitor per process (the loop is the process's); its native timer never keeps the process alive.

import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 5;
const WINDOW_MS = 100;

let histogram: IntervalHistogram | undefined;
let readAt = 0;
let lagMs = 0;

/** The event loop's mean delay over the last window (beyond the monitor's own timer period), ms. */
export function eventLoopLagMs(now = performance.now()): number {
  if (!histogram) {
    histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    readAt = now;
  }
  if (now - readAt >= WINDOW_MS) {
    if (histogram.count > 0) lagMs = Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS);
    histogram.reset();
    readAt = now;
  }
  return lagMs;
}
