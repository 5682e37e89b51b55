// Benchmark helper: CPU time a process has used so far (user + system, from /proc/PID/stat on Linux), so a bench
// can report CPU per request, which other jobs on a shared machine do not inflate the way they do latency.

import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
export const sysconf = { clockTicks: 100 };

/** CPU milliseconds used by `pid` so far, or NaN where /proc is not readable. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / sysconf.clockTicks;
  } catch {
    return NaN;
  }
}
