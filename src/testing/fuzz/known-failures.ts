// Fuzzing: failures the harness finds that other parts of issue 11 are fixing — one entry per defect, with the
// issue part it reproduces and a minimal input. The fuzz test tolerates a failure whose row and signature match an
// entry here, and runs the entry's regression case (regressions.ts) as a todo. Once the fix lands, delete the
// entry: its regression case becomes a strict test and the random cases stop tolerating the signature.

export interface KnownFailure {
  id: string;
  /** The issue part it reproduces (who fixes it). */
  issue: string;
  /** Rows of the report (parsers) it shows in. */
  row: RegExp;
  /** Signatures (Verdict.kind) it produces. */
  kind: RegExp;
  /** A minimal reproducing input, in words (the regression case sends exactly this). */
  repro: string;
}

const START = 'issue 11 parts 3-4: start-up, configuration and files outside the data dir (src/bin, src/config)';

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    id: 'tsx-cache-in-tmpdir', issue: `${START}, item 3`, row: /^files outside the data dir$/,
    kind: /^TMPDIR not empty/,
    repro: 'infaas serve (bin/infaas.mjs loads the sources through tsx) leaves tsx\'s compile cache in $TMPDIR/tsx-<uid>/ (hundreds of files); $HOME stays empty',
  },
];

export function knownFailure(row: string, kind: string): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.row.test(row) && k.kind.test(kind));
}
