// `infaas workers`: the workers, their memory, the variants loaded on each with their state and last-second stats,
// and what the autoscaling loop did last.

import type { WorkersReply } from '../api-types.ts';
import { flag } from '../args.ts';
import { clientFor, printJson, type Command } from '../command.ts';
import { num, table } from '../format.ts';

export function workersText(reply: WorkersReply): string {
  return workersTable(reply) + autoscalingText(reply.autoscaling);
}

function autoscalingText(a: WorkersReply['autoscaling']): string {
  if (!a) return '';
  if (a.policy === 'off') return '\nautoscaling: off\n';
  const recent = (a.recent ?? []).slice(-5);
  const schedule = a.schedule ? `; load schedule: ${num(a.schedule.expectedQps, 0)}/s expected within ${num(a.schedule.leadS, 0)} s` : '';
  const lead = a.leadership;
  const leader = lead ? `\ncontroller ${lead.controller}: ${lead.leader ? 'runs the autoscaling loop' : `follows (the loop runs on ${lead.leaderId ?? 'no controller right now'})`}` : '';
  const refused = (a.refusedWorkers ?? []).map((w) => `\nnot used: worker ${w.id} at ${w.address}: it ${w.reason}`).join('');
  return `\nautoscaling: ${a.policy}, at most ${a.maxWorkers ?? '?'} worker${a.maxWorkers === 1 ? '' : 's'}${schedule}; last actions: ${recent.length ? recent.join('; ') : 'none yet'}${leader}${refused}\n`;
}

function workersTable(reply: WorkersReply): string {
  if (reply.workers.length === 0) return 'no workers running\n';
  const workers = table(['WORKER', 'CLASS', 'MEM_USED_MB', 'MEM_BUDGET_MB', 'REPLICAS', 'ADDRESS'], reply.workers.map((w) => [
    w.id, w.workerClass, num(w.memoryUsedMB, 1), num(w.memoryBudgetMB, 0), w.replicas.length, w.address,
  ]));
  // The monitor's last one-second window, when the worker reported one.
  const stat = (v: number | undefined, digits: number) => (v === undefined ? '-' : num(v, digits));
  const replicas = reply.workers.flatMap((w) => w.replicas.map((r) => [
    w.id, r.variant, r.state, r.queued, num(r.memoryMB, 1),
    stat(r.stats?.arrivalQps, 1), stat(r.stats?.avgBatch, 1), stat(r.stats?.p95Ms, 3), stat(r.stats?.e2eP95Ms, 3),
  ]));
  if (replicas.length === 0) return workers + '\nno variants loaded\n';
  return workers + '\n' + table(['WORKER', 'VARIANT', 'STATE', 'QUEUED', 'MEM_MB', 'ARRIVAL/S', 'AVG_BATCH', 'RUN_P95_MS', 'E2E_P95_MS'], replicas);
}

export const workersCommand: Command = {
  spec: {
    name: 'workers',
    summary: 'List the workers with their memory use, the variants loaded on each, and the autoscaler\'s last actions.',
    usage: 'workers',
    examples: ['infaas workers', 'infaas workers --json'],
    options: {},
    positionals: { min: 0, max: 0 },
    client: true,
  },
  async run(args, ctx) {
    const reply = await clientFor(args, ctx, 'workers').getJson<WorkersReply>('/v1/workers');
    if (flag(args, 'json')) printJson(ctx, reply);
    else ctx.stdout(workersText(reply));
  },
};
