// `infaas modinfo <arch>`: an architecture's use case, input shape, artifacts and profiled variants.

import type { ModInfoReply } from '../api-types.ts';
import { flag } from '../args.ts';
import { clientFor, printJson, shapeText, type Command } from '../command.ts';
import { bytes, num, table, variantTable } from '../format.ts';

export function modinfoText(reply: ModInfoReply): string {
  const a = reply.architecture;
  const u = reply.useCase;
  const lines = [
    `architecture  ${a.name}${a.description ? ` — ${a.description}` : ''}`,
    `use case      ${u.id}`,
    `input shape   ${shapeText(u.inputShape)}`,
    `labels        ${u.labels ? u.labels.join(', ') : '(none)'}`,
    `registered    ${a.registeredAt}`,
    '',
    'artifacts:',
  ];
  const artifacts = table(['ARTIFACT', 'PRECISION', 'ACC_%', 'SIZE', 'INPUT', 'OUTPUT'], a.artifacts.map((x) => [
    x.id, x.precision, num(x.accuracy, 2), bytes(x.bytes), x.inputName, x.outputName,
  ]));
  const variants = reply.variants.length ? variantTable(reply.variants) : '(none profiled yet)\n';
  return lines.join('\n') + '\n' + artifacts + '\nvariants:\n' + variants;
}

export const modinfoCommand: Command = {
  spec: {
    name: 'modinfo',
    summary: 'Show an architecture: use case, input shape, artifacts and the profile of every variant.',
    usage: 'modinfo <arch>',
    examples: ['infaas modinfo fmnist-cnn-m'],
    options: {},
    positionals: { min: 1, max: 1 },
    client: true,
  },
  async run(args, ctx) {
    const reply = await clientFor(args, ctx, 'modinfo').getJson<ModInfoReply>(`/v1/architectures/${encodeURIComponent(args.positionals[0])}`);
    if (flag(args, 'json')) printJson(ctx, reply);
    else ctx.stdout(modinfoText(reply));
  },
};
