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

const REST = 'issue 11 part 2: REST request parsers (src/frontends/rest, src/api/query-*.ts, src/image)';
const START = 'issue 11 parts 3-4: start-up, configuration and files outside the data dir (src/bin, src/config)';
const ADMISSION = 'issue 11 part 1: admission control (src/controller/dispatcher.ts, src/worker)';

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    id: 'multipart-framing-500', issue: `${REST}, item 1`, row: /^register multipart$/,
    kind: /^HTTP 500 INTERNAL: (Multipart|Unexpected end of multipart|Part terminated early)|^connection closed without an answer$/,
    repro: 'POST /v1/models with Content-Type "multipart/form-data" (no boundary), or a body that ends before its closing boundary: 500 INTERNAL "Multipart: Boundary not found" / "Unexpected end of multipart data"',
  },
  {
    id: 'non-finite-inputs', issue: `${REST}, item 2`, row: /^infer |^query inputs/,
    kind: /^accepted: non-finite or out-of-range input|^accepted a value that is not a finite float32|^accepted input holding/,
    repro: 'POST /v1/infer?variant=V with application/octet-stream: one sample of 784 float32 whose first is NaN (or JSON {"shape":[1,1,28,28],"data":[1e39,0,...]}): 200 with null scores',
  },
  {
    id: 'unknown-fields', issue: `${REST}, item 4`, row: /^infer |^register multipart$/,
    kind: /^accepted: unknown (query )?field/,
    repro: 'POST /v1/infer?variant=V&foo=1 with a raw sample (unknown query field ignored), or JSON {"variant":V,"inputs":[...],"toString":1} (passes the `in` check): 200',
  },
  {
    id: 'echoed-input', issue: `${REST}, item 6`, row: /^query fields|^infer |^route /,
    kind: /^message echoes/,
    repro: 'POST /v1/infer {"variant":V,"latencyMs":"xxx…(1000 x)","inputs":[...]}: "latencyMs must be a number (got \\"xxx…\\")" quotes all 1000 characters',
  },
  {
    id: 'proto-key-called-malformed', issue: `${REST}, item 6`, row: /^infer /,
    kind: /^valid JSON called malformed$/,
    repro: 'POST /v1/infer {"variant":V,"inputs":[...],"__proto__":{}}: 400 "malformed JSON body" for valid JSON',
  },
  {
    id: 'no-early-413', issue: `${REST}, item 5`, row: /^register multipart$|^infer lying Content-Length$/,
    kind: /not refused with 413 before the body/,
    repro: 'POST /v1/models with Content-Length: 2684354560 and 10 bytes of body: no answer until the client gives up (then 400 "Client Error")',
  },
  {
    id: 'image-decode-blocks', issue: `${REST}, item 3`, row: /^infer image|^infer images/,
    kind: /^health stalled|^no answer within/,
    repro: 'POST /v1/infer?variant=V with image/png: a 4096x4096 16-bit RGBA PNG of zeros (130 kB): GET /v1/health waits 3-6 s while it decodes',
  },
  {
    id: 'framework-client-errors', issue: `${REST} (same class of defect on every route)`, row: /./,
    kind: /^HTTP 4\d\d without a JSON \{code, error\} body$/,
    repro: 'GET /v1/variants/<20,000 x "v"> (431), or a body shorter than its Content-Length followed by more bytes (400): Fastify\'s default client-error answer {"error":"Bad Request","message":"Client Error","statusCode":400}, no `code`',
  },
  {
    id: 'late-504', issue: `${ADMISSION}, item 2`, row: /^infer /,
    kind: /^HTTP 504 DEADLINE_EXCEEDED/,
    repro: 'POST /v1/infer?task=classification&dataset=fashion-mnist&minAccuracy=0&latencyMs=0.5 with a raw sample: 504 from the worker instead of an early refusal (429/422)',
  },
  {
    id: 'config-accepts-bad-values', issue: `${START} (src/config/config.ts)`, row: /^infaas\.json/,
    kind: /^loadConfig accepted a bad|^crash: TypeError/,
    repro: 'infaas.json {"maxBodyBytes": -1}, {"workerTimeoutMs": 0}, {"profiling": {"threads": [1], "maxBatch": [1], "optLevels": ["all"]}} (no runs/warmup) or "threads": [1e999]: loaded without complaint',
  },
  {
    id: 'config-echo', issue: `${START} (src/config/config.ts)`, row: /^infaas\.json/,
    kind: /^message echoes/,
    repro: 'infaas.json {"provisioner": {"kind": "xxx…(1000 x)"}}: the message repeats all 1000 characters',
  },
  {
    id: 'tsx-cache-in-tmpdir', issue: `${START}, item 3`, row: /^files outside the data dir$/,
    kind: /^TMPDIR not empty/,
    repro: 'infaas serve (bin/infaas.mjs loads the sources through tsx) leaves tsx\'s compile cache in $TMPDIR/tsx-<uid>/ (hundreds of files); $HOME stays empty',
  },
];

export function knownFailure(row: string, kind: string): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.row.test(row) && k.kind.test(kind));
}
