// Fuzzing: the pure parsers run in process (thousands of cases a second) — query fields, query inputs, images,
// validation sets, profile files, ONNX inspection, infaas.json and the CLI's arguments — each with the oracle and
// with checks of what it returns (no non-finite tensor values, no malformed config accepted, ...).

import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuerySpec } from '../../api/query-spec.ts';
import { toBatchTensor, type QueryInput } from '../../api/query-input.ts';
import { decodeImage } from '../../image/decode-image.ts';
import { decodeValidationSet } from '../../core/validation-set.ts';
import { variantsFromProfileFile } from '../../profiler/precomputed.ts';
import { inspectModel, validateForUseCase } from '../../onnx/inspect-model.ts';
import { defaultConfig, loadConfig } from '../../config/config.ts';
import { REPO_ROOT } from './fuzz-server.ts';
import { imageArb, type ImageArbOptions } from './image-arbs.ts';
import { inputsArb, rawArb, selectionArb, SAMPLE_SHAPE } from './input-arbs.ts';
import { configTextArb, profileTextArb, valsetArb } from './file-arbs.ts';
import { onnxArb } from './onnx-arbs.ts';
import { judgeThrown, type MessageRules, type Verdict } from './oracle.ts';
import type { Target } from './runner.ts';
import { cliTarget } from './cli-target.ts';
import { checkConfig, checkFloat32, checkValset, checkVariants } from './result-checks.ts';

const rules = (...echo: string[]): MessageRules => ({ privatePaths: [REPO_ROOT], echoSources: echo });
const text = (v: unknown) => { try { return JSON.stringify(v) ?? String(v); } catch { return String(v); } };

/** Awaits `f`; the verdict on what it threw, or on what it returned (`check`). */
async function judgeAsync<T>(f: () => Promise<T>, check: (r: T) => string | undefined, r: MessageRules): Promise<{ verdict?: Verdict }> {
  let out: T;
  try {
    out = await f();
  } catch (e) {
    return { verdict: judgeThrown(e, r) };
  }
  const bad = check(out);
  return bad ? { verdict: { kind: bad, detail: bad } } : {};
}

/** Runs `f`; the verdict on what it threw, or on what it returned (`check`). */
function judge<T>(f: () => T, check: (r: T) => string | undefined, r: MessageRules): { verdict?: Verdict } {
  let out: T;
  try {
    out = f();
  } catch (e) {
    return { verdict: judgeThrown(e, r) };
  }
  const bad = check(out);
  return bad ? { verdict: { kind: bad, detail: bad } } : {};
}

export const querySpecTarget: Target<{ label: string; fields: Record<string, unknown> }> = {
  name: 'query fields (parseQuerySpec)',
  arb: selectionArb(['m.fp32.t1.b8.all'], ['m'], { task: 'classification', dataset: 'fashion-mnist' }).map((s) => ({ label: s.label, fields: s.fields })),
  run: (c) => judge(() => parseQuerySpec(c.fields), (q) => {
    const n = q as unknown as Record<string, unknown>;
    for (const k of ['latencyMs', 'minAccuracy', 'maxCostPer1k', 'topK']) if (n[k] !== undefined && (typeof n[k] !== 'number' || !Number.isFinite(n[k]))) return `accepted a non-finite ${k}`;
    return undefined;
  }, rules(text(c.fields))),
  describe: (c) => c.label,
  size: (c) => text(c.fields).length,
};

type InputCase = { label: string; input: QueryInput; poison?: string };

export const queryInputTarget: Target<InputCase> = {
  name: 'query inputs (toBatchTensor)',
  arb: fc.oneof(
    inputsArb().map((i): InputCase => ({ label: i.label, poison: i.poison, input: Array.isArray(i.inputs) ? { kind: 'samples', samples: i.inputs } : { kind: 'tensor', shape: (i.inputs as { shape?: unknown })?.shape, data: (i.inputs as { data?: unknown })?.data } })),
    rawArb().map((r): InputCase => ({ label: r.label, poison: r.poison, input: { kind: 'raw', bytes: r.bytes } })),
  ),
  run: (c) => judgeAsync(async () => toBatchTensor(c.input, SAMPLE_SHAPE), (t) => checkFloat32(t.data, c.poison), rules()),
  describe: (c) => c.label,
  size: (c) => (c.input.kind === 'raw' ? c.input.bytes.length : text(c.input).length),
};

/** Images decoded in process; heavy ones (bombs, huge declared sizes) only through HTTP unless `o.heavy`. */
export function imageTarget(o: ImageArbOptions = {}): Target<{ label: string; bytes: Uint8Array; shape: number[]; truncated?: boolean }> {
  return {
    name: 'images (decodeImage)',
    arb: fc.tuple(imageArb({ heavy: false, ...o }), fc.constantFrom<number[]>([1, 28, 28], [1, 28, 28], [3, 32, 32], [28, 28], [1, 1, 1], [2, 8, 8], [1, 0, 5], [3, 4097, 1])).map(([i, shape]) => ({ label: `${i.label} to [${shape}]`, bytes: i.bytes, shape, truncated: i.truncated })),
    run: (c) => judgeAsync(async () => decodeImage(c.bytes, c.shape), (out) => {
      if (c.truncated) return 'decoded a PNG whose pixel data is shorter than its header declares';
      for (let i = 0; i < out.length; i++) if (!(out[i] >= 0 && out[i] <= 1)) return 'decoded pixel outside [0,1]';
      return undefined;
    }, rules()),
    describe: (c) => c.label,
    size: (c) => c.bytes.length,
  };
}

export const valsetTarget: Target<{ label: string; bytes: Uint8Array }> = {
  name: 'validation sets (decodeValidationSet)',
  arb: valsetArb(),
  run: (c) => judge(() => decodeValidationSet(c.bytes), checkValset, rules(Buffer.from(c.bytes).toString('latin1'))),
  describe: (c) => c.label,
  size: (c) => c.bytes.length,
};

const PROFILE_CTX = { artifactId: 'fz.fp32', arch: 'fz', useCase: 'fuzzing/fz-a', workerClasses: defaultConfig('/').workerClasses };

export const profileTarget: Target<{ label: string; text: string }> = {
  name: 'profile files (variantsFromProfileFile)',
  arb: profileTextArb(),
  run: (c) => {
    let doc: unknown;
    try {
      doc = JSON.parse(c.text);
    } catch {
      return {}; // the REST edge refuses text that is not JSON before this parser
    }
    return judge(() => variantsFromProfileFile(doc, PROFILE_CTX), (r) => checkVariants(r.accuracy, r.variants), rules(c.text));
  },
  describe: (c) => `${c.label}: ${c.text.slice(0, 120)}`,
  size: (c) => c.text.length,
};

export const onnxTarget: Target<{ label: string; bytes: Uint8Array }> = {
  name: 'ONNX files (inspectModel + validateForUseCase)',
  arb: onnxArb(),
  run: (c) => judge(() => validateForUseCase(inspectModel(c.bytes), SAMPLE_SHAPE, 'fuzzing/fz-a'), () => undefined, rules(Buffer.from(c.bytes).toString('latin1'))),
  describe: (c) => c.label,
  size: (c) => c.bytes.length,
};

/** infaas.json through loadConfig on a temporary data dir (one dir, rewritten per case; call dispose() after). */
export function configTarget(): Target<{ label: string; text: string }> & { dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'infaas-fuzz-config-'));
  return {
    name: 'infaas.json (loadConfig)',
    arb: configTextArb(),
    run: (c) => {
      writeFileSync(join(dir, 'infaas.json'), c.text);
      // The operator's own file: its path may be named; the message still must not dump the file.
      return judge(() => loadConfig(dir), checkConfig, { privatePaths: [], echoSources: [c.text] });
    },
    describe: (c) => `${c.label}: ${c.text.slice(0, 120)}`,
    size: (c) => c.text.length,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export { cliTarget };
