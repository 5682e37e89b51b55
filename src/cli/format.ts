// Text formatting for the CLI: aligned tables, numbers, the variant table and SLO alternatives.

import type { Variant } from '../core/types.ts';
import type { Alternative } from './api-types.ts';

/** Right-aligns columns whose every body cell looks numeric; left-aligns the rest. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => cells.length > 0 && cells.every((r) => /^[-+$]?[\d.,]+(e[-+]?\d+)?%?$|^-$/.test(r[i] ?? '')));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** Milliseconds with precision that suits their size: 0.042, 1.25, 12.5, 125. */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return v.toFixed(0);
}

/** A plain number with `digits` decimals, or '-' when missing. */
export function num(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** Money: two decimals from 0.01 up, two significant digits below (costs per 1k queries are tiny). */
export function money(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  if (Math.abs(v) >= 0.01) return v.toFixed(2);
  return Number(v.toPrecision(2)).toString();
}

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The variant table of `register`, `modinfo`: one row per variant, batch-1 and max-batch latencies. */
export function variantTable(variants: Variant[]): string {
  const headers = ['VARIANT', 'THREADS', 'MAX_BATCH', 'OPT', 'ACC_%', 'LOAD_MS', 'P50@1_MS', 'P95@1_MS', 'P95@MAX_MS', 'MEM_MB', 'PEAK/S', 'CLASS', '$/H', '$/1K'];
  const rows = variants.map((v) => {
    const p = v.profile;
    const lat = p?.latency ?? [];
    const b1 = lat.find((l) => l.batch === 1) ?? lat[0];
    const bmax = lat.find((l) => l.batch === v.config.maxBatch) ?? lat[lat.length - 1];
    return [
      v.name, v.config.threads, v.config.maxBatch, v.config.optLevel, num(p?.accuracy, 2), ms(p?.loadMs),
      ms(b1?.p50), ms(b1?.p95), ms(bmax?.p95), num(p?.memoryMB, 1), num(p?.peakThroughput, 0), p?.workerClass ?? '-',
      money(p?.costPerHour), money(p?.costPer1k),
    ];
  });
  return table(headers, rows);
}

/** Human lines for SLO_UNSATISFIABLE's details.alternatives (empty when there are none). */
export function alternativesText(details: Record<string, unknown> | undefined): string[] {
  const alts = details?.alternatives as Record<string, Alternative | undefined> | undefined;
  if (!alts || typeof alts !== 'object') return [];
  const describe = (a: Alternative) => `${a.variant} (p95 ${ms(a.p95Ms)} ms, accuracy ${num(a.accuracy, 2)}%)`;
  const lines: string[] = [];
  if (alts.fastestMeetingAccuracy) lines.push(`  fastest variant meeting the accuracy:     ${describe(alts.fastestMeetingAccuracy)}`);
  if (alts.mostAccurateMeetingLatency) lines.push(`  most accurate variant meeting the latency: ${describe(alts.mostAccurateMeetingLatency)}`);
  if (lines.length === 0) return [];
  return ['alternatives:', ...lines, '  (relax the SLO, or ask for one of these with -v VARIANT)'];
}
