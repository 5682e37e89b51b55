// `infaas query` (alias `online-query`): one online inference, selected by variant, architecture or use case.

import { basename } from 'node:path';
import type { InferReply } from '../api-types.ts';
import { flag, strs } from '../args.ts';
import { clientFor, printJson, type Command } from '../command.ts';
import { ms } from '../format.ts';
import { loadQueryInputs } from '../query-inputs.ts';
import { parseSelection, selectionQuery } from '../query-selection.ts';

const MAX_RAW_VALUES = 12;

/** The human reply: chosen variant, worker, cold start, timing, then per input its top-k labels or raw outputs. */
export function queryText(reply: InferReply, inputNames: string[]): string {
  const t = reply.timing;
  const lines = [
    `variant     ${reply.variant} (architecture ${reply.arch})`,
    `worker      ${reply.worker}`,
    `cold start  ${reply.coldStart ? 'yes' : 'no'}`,
    `timing      queue ${ms(t.queueMs)} ms · load ${ms(t.loadMs)} ms · inference ${ms(t.inferenceMs)} ms · total ${ms(t.totalMs)} ms`,
  ];
  const names = inputNames.length === reply.batch ? inputNames : Array.from({ length: reply.batch }, (_, i) => `sample ${i + 1}`);
  for (let b = 0; b < reply.batch; b++) {
    lines.push('', `[${b + 1}] ${names[b]}`);
    const preds = reply.predictions?.[b];
    if (preds && preds.length) {
      const width = Math.max(...preds.map((p) => (p.label ?? `class ${p.index}`).length));
      for (const p of preds) lines.push(`    ${(p.label ?? `class ${p.index}`).padEnd(width)}  ${p.score.toFixed(3)}`);
      continue;
    }
    for (const o of reply.outputs) {
      const per = o.data.length / Math.max(1, reply.batch);
      const values = o.data.slice(b * per, (b + 1) * per);
      const shown = values.slice(0, MAX_RAW_VALUES).map((v) => Number(v.toPrecision(4))).join(' ');
      const more = values.length > MAX_RAW_VALUES ? ` … (${values.length - MAX_RAW_VALUES} more)` : '';
      lines.push(`    ${o.name} [${o.shape.slice(1).join(',')}]: ${shown}${more}`);
    }
  }
  return lines.join('\n') + '\n';
}

export const queryCommand: Command = {
  spec: {
    name: 'query',
    summary: 'Run an online query: the server picks and loads a variant that meets the request, then infers.',
    usage: 'query -i INPUT [-i INPUT ...] (-v VARIANT | -a ARCH -l MS | -t TASK -D DATASET -A PCT -l MS) [--max-cost X] [--top-k K]',
    notes: [
      'INPUT is a PNG/JPEG image, a .json file (one sample as a nested array, or {"shape":[...],"data":[...]})',
      'or raw little-endian float32 (.f32, .bin). Several -i make a batch. Alias: online-query.',
    ],
    examples: [
      'infaas query -i examples/fashion-mnist/ankle-boot.png -t classification -D fashion-mnist -A 85 -l 5',
      'infaas query -i a.png -i b.png -a fmnist-cnn-m -l 10 --top-k 1',
      'infaas query -i examples/fashion-mnist/sample.json -v fmnist-cnn-m.fp32.t1.b8.all --json',
    ],
    options: {
      input: { type: 'string', short: 'i', multiple: true, valueName: 'FILE', description: 'input file (PNG/JPEG, .json, .f32)' },
      variant: { type: 'string', short: 'v', valueName: 'VARIANT', description: 'level 3: run exactly this variant' },
      arch: { type: 'string', short: 'a', valueName: 'ARCH', description: 'level 2: this architecture, with -l' },
      task: { type: 'string', short: 't', valueName: 'TASK', description: 'level 1: task of the use case, with -D -A -l' },
      dataset: { type: 'string', short: 'D', valueName: 'DATASET', description: 'level 1: dataset of the use case' },
      accuracy: { type: 'string', short: 'A', valueName: 'PCT', description: 'level 1: minimum top-1 accuracy, percent' },
      latency: { type: 'string', short: 'l', valueName: 'MS', description: 'latency SLO in milliseconds (levels 1 and 2)' },
      'max-cost': { type: 'string', valueName: 'X', description: 'maximum cost per 1,000 queries' },
      'top-k': { type: 'string', valueName: 'K', description: 'labels to show per input (default 3)' },
    },
    positionals: { min: 0, max: 0 },
    client: true,
  },
  async run(args, ctx) {
    const selection = parseSelection(args, 'query');
    const paths = strs(args, 'input');
    const body = await loadQueryInputs(paths);
    const client = clientFor(args, ctx, 'query');
    const reply =
      body.kind === 'raw'
        ? await client.postBytes<InferReply>(`/v1/infer?${selectionQuery(selection)}`, body.bytes, 'application/octet-stream')
        : await client.postJson<InferReply>('/v1/infer', { ...selection, ...(body.kind === 'images' ? { images: body.images } : { inputs: body.inputs }) });
    if (flag(args, 'json')) printJson(ctx, reply);
    else ctx.stdout(queryText(reply, paths.map((p) => basename(p))));
  },
};
