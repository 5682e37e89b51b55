// Turns a folder of labelled images (DIR/<class>/*.png|jpg) into a validation set, for `infaas register --validation DIR`.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../core/errors.ts';
import { sizeOf } from '../core/types.ts';
import type { ValidationSet } from '../core/validation-set.ts';
import { decodeImage } from './decode-image.ts';

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/**
 * Maps class folder names to class indices.
 * - With `labels` (class names in model-output order): a folder is a label name (case-insensitive) or an index
 *   into `labels`.
 * - Without labels: when every folder is a non-negative integer it is the index; otherwise the folders, sorted,
 *   are the classes in order and their names become the class names.
 * @throws INVALID_ARGUMENT naming the folder that matches no class.
 */
export function classIndexOf(folders: string[], labels?: string[]): { index: Map<string, number>; classNames?: string[] } {
  const index = new Map<string, number>();
  const isIndex = (f: string) => /^\d+$/.test(f);
  if (labels && labels.length > 0) {
    const byName = new Map(labels.map((l, i) => [l.toLowerCase(), i]));
    for (const f of folders) {
      const i = byName.get(f.toLowerCase()) ?? (isIndex(f) && Number(f) < labels.length ? Number(f) : undefined);
      if (i === undefined) throw invalid(`class folder "${f}" is neither a label name nor an index below ${labels.length}`);
      index.set(f, i);
    }
    return { index, classNames: labels };
  }
  if (folders.every(isIndex)) {
    for (const f of folders) index.set(f, Number(f));
    return { index };
  }
  const sorted = [...folders].sort();
  sorted.forEach((f, i) => index.set(f, i));
  return { index, classNames: sorted };
}

/**
 * Reads every PNG/JPEG under `dir/<class>/` and decodes it to `shape` ([C,H,W]).
 * @throws INVALID_ARGUMENT when the folder has no class subfolders or no images; INVALID_IMAGE (with the file
 *   name) for an undecodable image.
 */
export async function readImageFolder(dir: string, shape: number[], labels?: string[]): Promise<ValidationSet> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (folders.length === 0) throw invalid(`${dir} has no class subfolders (expected ${dir}/<class>/*.png)`);
  const { index, classNames } = classIndexOf(folders, labels);
  const samples: Float32Array[] = [];
  const classes: number[] = [];
  for (const f of folders) {
    const files = (await readdir(join(dir, f))).filter((n) => IMAGE_EXT.test(n)).sort();
    for (const name of files) {
      const path = join(dir, f, name);
      const bytes = await readFile(path);
      try {
        samples.push(decodeImage(bytes, shape));
      } catch (e) {
        if (e instanceof Error) e.message = `${path}: ${e.message}`;
        throw e;
      }
      classes.push(index.get(f) as number);
    }
  }
  if (samples.length === 0) throw invalid(`no .png/.jpg images found under ${dir}/<class>/`);
  const per = sizeOf(shape);
  const inputs = new Float32Array(samples.length * per);
  samples.forEach((s, i) => inputs.set(s, i * per));
  return { shape, count: samples.length, inputs, labels: Int32Array.from(classes), ...(classNames ? { classNames } : {}) };
}
