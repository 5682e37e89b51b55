// Writes the sample query inputs under examples/ from the zoo's validation sets: 28x28 grayscale PNGs, one JSON
// sample and one raw float32 sample. Run: `npx tsx src/cli/make-examples.ts [zoo-dir] [examples-dir]`.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeValidationSet, type ValidationSet } from '../core/validation-set.ts';
import { sizeOf } from '../core/types.ts';
import { encodePng } from '../image/encode-image.ts';

/** One example file: the first validation sample of class `classIndex` of `dataset`. */
export interface ExamplePick {
  dataset: string;
  file: string;
  classIndex: number;
  format: 'png' | 'json' | 'f32';
}

export const DEFAULT_PICKS: ExamplePick[] = [
  { dataset: 'fashion-mnist', file: 'ankle-boot.png', classIndex: 9, format: 'png' },
  { dataset: 'fashion-mnist', file: 'sneaker.png', classIndex: 7, format: 'png' },
  { dataset: 'fashion-mnist', file: 'trouser.png', classIndex: 1, format: 'png' },
  { dataset: 'fashion-mnist', file: 'bag.png', classIndex: 8, format: 'png' },
  { dataset: 'fashion-mnist', file: 'sample.json', classIndex: 5, format: 'json' },
  { dataset: 'fashion-mnist', file: 'sample.f32', classIndex: 3, format: 'f32' },
  { dataset: 'mnist', file: 'seven.png', classIndex: 7, format: 'png' },
  { dataset: 'mnist', file: 'two.png', classIndex: 2, format: 'png' },
  { dataset: 'mnist', file: 'zero.png', classIndex: 0, format: 'png' },
  { dataset: 'mnist', file: 'sample.json', classIndex: 4, format: 'json' },
];

/** Reshapes a flat sample to nested arrays of `shape`, values rounded to 4 decimals (keeps the JSON small). */
export function nest(data: Float32Array, shape: number[]): unknown {
  if (shape.length === 0) return Math.round(data[0] * 1e4) / 1e4;
  const [d, ...rest] = shape;
  const per = sizeOf(rest);
  return Array.from({ length: d }, (_, i) => nest(data.subarray(i * per, (i + 1) * per), rest));
}

function sampleOf(set: ValidationSet, classIndex: number): Float32Array | undefined {
  const i = set.labels.indexOf(classIndex);
  if (i < 0) return undefined;
  const per = sizeOf(set.shape);
  return set.inputs.slice(i * per, (i + 1) * per);
}

/**
 * Writes every pick whose dataset has `<zooDir>/<dataset>/validation.valset`; returns the paths written and the
 * datasets skipped (no validation set yet).
 */
export function makeExamples(zooDir: string, outDir: string, picks = DEFAULT_PICKS): { written: string[]; skipped: string[] } {
  const written: string[] = [];
  const skipped = new Set<string>();
  const sets = new Map<string, ValidationSet>();
  for (const p of picks) {
    const path = join(zooDir, p.dataset, 'validation.valset');
    if (!sets.has(p.dataset)) {
      if (!existsSync(path)) {
        skipped.add(p.dataset);
        continue;
      }
      sets.set(p.dataset, decodeValidationSet(readFileSync(path)));
    }
    const set = sets.get(p.dataset) as ValidationSet;
    const sample = sampleOf(set, p.classIndex);
    if (!sample) throw new Error(`${path} has no sample of class ${p.classIndex}`);
    const out = join(outDir, p.dataset, p.file);
    mkdirSync(dirname(out), { recursive: true });
    if (p.format === 'png') writeFileSync(out, encodePng(sample, set.shape));
    else if (p.format === 'json') writeFileSync(out, JSON.stringify(nest(sample, set.shape)) + '\n');
    else writeFileSync(out, Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength));
    written.push(out);
  }
  return { written, skipped: [...skipped] };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const zoo = resolve(process.argv[2] ?? join(root, 'zoo'));
  const out = resolve(process.argv[3] ?? join(root, 'examples'));
  const { written, skipped } = makeExamples(zoo, out);
  for (const w of written) process.stdout.write(`wrote ${w}\n`);
  for (const s of skipped) process.stderr.write(`skipped ${s}: no ${join(zoo, s, 'validation.valset')} yet\n`);
  if (written.length === 0) process.exitCode = 1;
}
