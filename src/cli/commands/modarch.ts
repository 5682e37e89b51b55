// `infaas modarch <task> <dataset>`: the architectures registered for a use case.

import type { ModArchReply } from '../api-types.ts';
import { flag } from '../args.ts';
import { clientFor, printJson, shapeText, type Command } from '../command.ts';
import { ms, num, table } from '../format.ts';

export function modarchText(reply: ModArchReply): string {
  const u = reply.useCase;
  const head = `use case ${u.id}: input ${shapeText(u.inputShape)}${u.labels ? `, ${u.labels.length} labels` : ''}\n`;
  if (reply.architectures.length === 0) return head + 'no architectures registered\n';
  const rows = reply.architectures.map((a) => [
    a.name,
    a.artifacts.map((x) => x.precision).join(','),
    num(a.bestAccuracy, 2),
    ms(a.fastestP50Ms),
    a.variants,
    a.description ?? '',
  ]);
  return head + table(['ARCH', 'ARTIFACTS', 'BEST_ACC_%', 'FASTEST_P50_MS', 'VARIANTS', 'DESCRIPTION'], rows);
}

export const modarchCommand: Command = {
  spec: {
    name: 'modarch',
    summary: 'List the architectures registered for a use case (task + dataset).',
    usage: 'modarch <task> <dataset>',
    examples: ['infaas modarch classification fashion-mnist'],
    options: {},
    positionals: { min: 2, max: 2 },
    client: true,
  },
  async run(args, ctx) {
    const [task, dataset] = args.positionals;
    const reply = await clientFor(args, ctx, 'modarch').getJson<ModArchReply>(
      `/v1/usecases/${encodeURIComponent(task)}/${encodeURIComponent(dataset)}/architectures`,
    );
    if (flag(args, 'json')) printJson(ctx, reply);
    else ctx.stdout(modarchText(reply));
  },
};
