// `infaas register`: upload an ONNX model with a validation set (or a precomputed profile), then follow profiling.

import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeValidationSet, encodeValidationSet } from '../../core/validation-set.ts';
import { plainBytes } from '../api-client.ts';
import type { Registration, RegistrationReply } from '../api-types.ts';
import { flag, str, type ParsedArgs } from '../args.ts';
import { CliError, usageError } from '../cli-error.ts';
import type { CliContext } from '../cli-context.ts';
import { clientFor, printJson, type Command } from '../command.ts';
import { variantTable } from '../format.ts';
import { ProgressReporter } from '../progress.ts';

async function readLocal(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw usageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'register');
  }
}

/** Class names from a labels file: one per line, blank lines ignored. */
export function parseLabels(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** "1,28,28" or "1x28x28" → [1,28,28]. */
export function parseShape(text: string): number[] {
  const dims = text.split(/[x,]/i).map((d) => Number(d.trim()));
  if (dims.length < 1 || dims.some((d) => !Number.isInteger(d) || d <= 0)) throw usageError(`--shape must be positive integers like 1,28,28, got "${text}"`, 'register');
  return dims;
}

/** The flags of `register` after checking: which are required, which exclude each other. */
export interface RegisterRequest {
  model: string;
  task: string;
  dataset: string;
  arch: string;
  validation?: string;
  profile?: string;
  labels?: string;
  description?: string;
  precision?: 'fp32' | 'int8';
  replace: boolean;
  shape?: number[];
}

export function parseRegister(args: ParsedArgs): RegisterRequest {
  const missing = ['task', 'dataset', 'arch'].filter((k) => !str(args, k)).map((k) => `--${k}`);
  if (missing.length) throw usageError(`missing ${missing.join(', ')}`, 'register');
  const validation = str(args, 'validation');
  const profile = str(args, 'profile');
  if (validation !== undefined && profile !== undefined) throw usageError('give either --validation or --profile, not both', 'register');
  if (validation === undefined && profile === undefined) throw usageError('give --validation FILE|DIR (to profile on the server) or --profile FILE (precomputed)', 'register');
  const precision = str(args, 'precision');
  if (precision !== undefined && precision !== 'fp32' && precision !== 'int8') throw usageError(`--precision must be fp32 or int8, got "${precision}"`, 'register');
  const shapeText = str(args, 'shape');
  return {
    model: args.positionals[0],
    task: str(args, 'task') as string,
    dataset: str(args, 'dataset') as string,
    arch: str(args, 'arch') as string,
    validation,
    profile,
    labels: str(args, 'labels'),
    description: str(args, 'description'),
    precision: precision as RegisterRequest['precision'],
    replace: flag(args, 'replace'),
    shape: shapeText !== undefined ? parseShape(shapeText) : undefined,
  };
}

/** The validation upload: a .valset file as is, or a folder of class subfolders converted here. */
async function validationBytes(req: RegisterRequest, model: Uint8Array, labels: string[] | undefined, ctx: CliContext): Promise<Uint8Array> {
  const path = req.validation as string;
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw usageError(`cannot read validation set ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'register');
  }
  if (!isDir) {
    const bytes = await readLocal(path, 'validation set');
    try {
      decodeValidationSet(bytes);
    } catch (e) {
      throw usageError(`${path}: ${e instanceof Error ? e.message : String(e)} (give a .valset file or a folder DIR/<class>/*.png)`, 'register');
    }
    return bytes;
  }
  // Loaded only here: the ONNX reader and the image decoders are not needed by other commands.
  const shape = req.shape ?? (await import('../model-input-shape.ts')).modelInputShape(model);
  const { readImageFolder } = await import('../../image/image-folder.ts');
  let set;
  try {
    set = await readImageFolder(path, shape, labels);
  } catch (e) {
    throw usageError(e instanceof Error ? e.message : String(e), 'register');
  }
  ctx.stderr(`validation: ${set.count} images from ${path} decoded to [${shape.join(',')}]\n`);
  return encodeValidationSet(set);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls the registration until it leaves PROFILING, drawing progress on stderr. */
async function follow(reg: Registration, args: ParsedArgs, ctx: CliContext): Promise<Registration> {
  const client = clientFor(args, ctx, 'register');
  const progress = new ProgressReporter(ctx.stderr, ctx.stderrIsTTY);
  try {
    while (reg.state === 'PROFILING') {
      if (reg.progress) progress.update(reg.progress.done, reg.progress.total, reg.progress.stage);
      await sleep(ctx.pollMs ?? 250);
      reg = (await client.getJson<RegistrationReply>(`/v1/registrations/${encodeURIComponent(reg.id)}`)).registration;
    }
    if (reg.state === 'SUCCEEDED' && reg.progress) progress.update(reg.progress.total, reg.progress.total, 'done');
  } finally {
    progress.finish();
  }
  return reg;
}

export const registerCommand: Command = {
  spec: {
    name: 'register',
    summary: 'Register an ONNX model for a use case; the server profiles it into variants.',
    usage: 'register <model.onnx> --task T --dataset D --arch NAME (--validation FILE|DIR | --profile FILE) [--labels FILE] [--description TEXT] [--precision fp32|int8] [--replace]',
    notes: [
      '--validation takes a .valset file or a folder of images in class subfolders (DIR/<class>/*.png|jpg); a folder',
      'is decoded here to the model input shape (or --shape), classes ordered by --labels or by sorted folder names.',
    ],
    examples: [
      'infaas register my-cnn.onnx --task classification --dataset fashion-mnist --arch my-cnn --validation zoo/fashion-mnist/validation.valset',
      'infaas register my-cnn.int8.onnx --task classification --dataset fashion-mnist --arch my-cnn --precision int8 --validation images/',
    ],
    options: {
      task: { type: 'string', valueName: 'T', description: 'task of the use case, e.g. classification' },
      dataset: { type: 'string', valueName: 'D', description: 'dataset of the use case, e.g. fashion-mnist' },
      arch: { type: 'string', valueName: 'NAME', description: 'architecture name, e.g. my-cnn' },
      validation: { type: 'string', valueName: 'FILE|DIR', description: '.valset file, or image folder DIR/<class>/*.png' },
      profile: { type: 'string', valueName: 'FILE', description: 'precomputed profile JSON (skips profiling)' },
      labels: { type: 'string', valueName: 'FILE', description: 'class names, one per line' },
      description: { type: 'string', valueName: 'TEXT', description: 'short description of the architecture' },
      precision: { type: 'string', valueName: 'fp32|int8', description: 'precision of this artifact (default fp32)' },
      replace: { type: 'boolean', description: 'overwrite an existing architecture/artifact of that name' },
      shape: { type: 'string', valueName: 'C,H,W', description: 'input shape for --validation DIR (default: read from the model)' },
    },
    positionals: { min: 1, max: 1 },
    client: true,
  },
  async run(args, ctx) {
    const req = parseRegister(args);
    const model = await readLocal(req.model, 'model');
    const labelsBytes = req.labels !== undefined ? await readLocal(req.labels, 'labels file') : undefined;
    const labels = labelsBytes ? parseLabels(labelsBytes.toString('utf8')) : undefined;
    const form = new FormData();
    form.set('task', req.task);
    form.set('dataset', req.dataset);
    form.set('arch', req.arch);
    if (req.description !== undefined) form.set('description', req.description);
    if (req.precision !== undefined) form.set('precision', req.precision);
    if (req.replace) form.set('replace', 'true');
    form.set('model', new Blob([plainBytes(model)], { type: 'application/octet-stream' }), basename(req.model));
    if (req.validation !== undefined) {
      form.set('validation', new Blob([plainBytes(await validationBytes(req, model, labels, ctx))]), 'validation.valset');
    } else {
      form.set('profile', new Blob([plainBytes(await readLocal(req.profile as string, 'profile'))], { type: 'application/json' }), basename(req.profile as string));
    }
    if (labelsBytes) form.set('labels', new Blob([plainBytes(labelsBytes)], { type: 'text/plain' }), basename(req.labels as string));

    const client = clientFor(args, ctx, 'register');
    const first = (await client.postForm<RegistrationReply>('/v1/models', form)).registration;
    if (!flag(args, 'json')) ctx.stderr(`registration ${first.id}: ${first.arch} for ${first.useCase}\n`);
    const reg = await follow(first, args, ctx);
    if (flag(args, 'json')) printJson(ctx, { registration: reg });
    if (reg.state === 'FAILED') throw new CliError(`registration ${reg.id} failed: ${reg.error ?? 'unknown error'}`, 1, { code: 'REGISTRATION_FAILED', jsonPrinted: flag(args, 'json') });
    if (!flag(args, 'json')) ctx.stdout(`SUCCEEDED\n${variantTable(reg.variants ?? [])}`);
  },
};
