// `infaas usecases`: the use cases (task + dataset + input shape) the server knows.

import type { UseCasesReply } from '../api-types.ts';
import { flag } from '../args.ts';
import { clientFor, printJson, shapeText, type Command } from '../command.ts';
import { table } from '../format.ts';

export function usecasesText(reply: UseCasesReply): string {
  if (reply.useCases.length === 0) return 'no use cases registered (register a model with `infaas register`)\n';
  return table(['USE_CASE', 'TASK', 'DATASET', 'INPUT', 'LABELS', 'ARCHS'], reply.useCases.map((u) => [
    u.id, u.task, u.dataset, shapeText(u.inputShape), u.labels ? u.labels.length : '-', u.architectures,
  ]));
}

export const usecasesCommand: Command = {
  spec: {
    name: 'usecases',
    summary: 'List the use cases (task, dataset, input shape) and how many architectures each has.',
    usage: 'usecases',
    examples: ['infaas usecases'],
    options: {},
    positionals: { min: 0, max: 0 },
    client: true,
  },
  async run(args, ctx) {
    const reply = await clientFor(args, ctx, 'usecases').getJson<UseCasesReply>('/v1/usecases');
    if (flag(args, 'json')) printJson(ctx, reply);
    else ctx.stdout(usecasesText(reply));
  },
};
