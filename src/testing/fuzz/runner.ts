// Fuzzing: runs a target's cases through its oracle and keeps the statistics the test and the bench report —
// cases and time per row, each distinct failure (by signature) with its count and smallest example, the slowest case.

import fc from 'fast-check';
import type { Verdict } from './oracle.ts';
import { knownFailure, type KnownFailure } from './known-failures.ts';

/** A parser under fuzzing: generated cases, and an oracle run on each. */
export interface Target<C> {
  name: string;
  arb: fc.Arbitrary<C>;
  /** Runs one case and judges it; `row` names the parser it reached when one target feeds several rows. */
  run(c: C): Promise<{ row?: string; verdict?: Verdict }> | { row?: string; verdict?: Verdict };
  /** A short description of the input, for reports. */
  describe(c: C): string;
  /** Size of the input in bytes (the smallest failing example of a kind is kept). */
  size(c: C): number;
}

export interface Finding {
  row: string;
  kind: string;
  count: number;
  example: string;
  exampleSize: number;
  detail: string;
  known?: KnownFailure;
}

export interface RowStats {
  row: string;
  cases: number;
  ms: number;
  slowest: { ms: number; label: string };
}

export class FuzzStats {
  readonly rows = new Map<string, RowStats>();
  readonly findings = new Map<string, Finding>();

  record(row: string, ms: number, label: string, size: number, verdict?: Verdict): Finding | undefined {
    const r = this.rows.get(row) ?? { row, cases: 0, ms: 0, slowest: { ms: -1, label: '' } };
    r.cases++;
    r.ms += ms;
    if (ms > r.slowest.ms) r.slowest = { ms, label: label.slice(0, 160) };
    this.rows.set(row, r);
    if (!verdict) return undefined;
    const key = `${row}\u0000${verdict.kind}`;
    const f = this.findings.get(key);
    if (f) {
      f.count++;
      if (size < f.exampleSize) Object.assign(f, { example: label, exampleSize: size, detail: verdict.detail });
      return f;
    }
    const n: Finding = { row, kind: verdict.kind, count: 1, example: label, exampleSize: size, detail: verdict.detail, known: knownFailure(row, verdict.kind) };
    this.findings.set(key, n);
    return n;
  }

  /** Failures no entry of the known-failures list explains. */
  unknown(): Finding[] {
    return [...this.findings.values()].filter((f) => !f.known);
  }
}

/** Runs one case, timing it; an exception from the runner itself is a verdict too. */
export async function runOne<C>(t: Target<C>, c: C, stats: FuzzStats): Promise<Finding | undefined> {
  const started = performance.now();
  let row = t.name;
  let verdict: Verdict | undefined;
  try {
    const r = await t.run(c);
    row = r.row ?? t.name;
    verdict = r.verdict;
  } catch (e) {
    verdict = { kind: `fuzz runner threw: ${(e as Error)?.name}`, detail: String((e as Error)?.stack ?? e).slice(0, 500) };
  }
  return stats.record(row, performance.now() - started, t.describe(c), t.size(c), verdict);
}

/**
 * The property the tests assert: every case passes its oracle or fails in a way the known-failures list explains.
 * fast-check shrinks an unexplained failure to a small counterexample.
 */
export function fuzzProperty<C>(t: Target<C>, stats: FuzzStats): fc.IAsyncPropertyWithHooks<[C]> {
  // A counterexample prints as its short description, not as a megabyte of JSON.
  const described = t.arb.map((c) => (typeof c === 'object' && c !== null ? Object.defineProperty(c, fc.toStringMethod, { value: () => t.describe(c), enumerable: false }) : c));
  return fc.asyncProperty(described, async (c) => {
    const f = await runOne(t, c, stats);
    if (f && !f.known) throw new Error(`${f.row}: ${f.kind}\n  input: ${t.describe(c)}\n  detail: ${f.detail}`);
  });
}

/** Asserts the property over `numRuns` cases from `seed`, reporting the failure's message with the counterexample. */
export async function assertFuzz<C>(t: Target<C>, stats: FuzzStats, seed: number, numRuns: number): Promise<void> {
  await fc.assert(fuzzProperty(t, stats), { seed, numRuns, includeErrorInReport: true });
}

/** `n` cases of a target from `seed`, for runs that count every failure instead of stopping at the first. */
export function sample<C>(t: Target<C>, seed: number, n: number): C[] {
  return fc.sample(t.arb, { seed, numRuns: n });
}
