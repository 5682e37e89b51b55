// The `infaas` command line: dispatches to one command, prints errors as "error: …" and returns the exit code.

import { helpText, parseCommand } from './args.ts';
import { CliError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';
import type { Command } from './command.ts';
import { alternativesText } from './format.ts';
import { modarchCommand } from './commands/modarch.ts';
import { loadgenCommand } from './commands/loadgen.ts';
import { modinfoCommand } from './commands/modinfo.ts';
import { planCommand } from './commands/plan.ts';
import { queryCommand } from './commands/query.ts';
import { registerCommand } from './commands/register.ts';
import { demoCommand, serveCommand } from './commands/serve.ts';
import { simulateCommand } from './commands/simulate.ts';
import { usecasesCommand } from './commands/usecases.ts';
import { workersCommand } from './commands/workers.ts';
import { workerCommand } from './commands/worker.ts';

export const COMMANDS: Command[] = [
  serveCommand, demoCommand, workerCommand, registerCommand, usecasesCommand, modarchCommand, modinfoCommand, queryCommand, workersCommand,
  planCommand, loadgenCommand, simulateCommand,
];
const ALIASES: Record<string, string> = { 'online-query': 'query' };

export function findCommand(name: string): Command | undefined {
  const real = ALIASES[name] ?? name;
  return COMMANDS.find((c) => c.spec.name === real);
}

/** `infaas help`: every command with its one-line summary. */
export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  return [
    'usage: infaas <command> [options]',
    '',
    'Model-less inference serving: register ONNX models, then query by use case + accuracy + latency SLO.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
    `  ${'help'.padEnd(width)}  Show this list, or \`infaas help <command>\` for one command.`,
    '',
    'Client commands take --server URL (default $INFAAS_URL or http://127.0.0.1:8080) and --json.',
    'Run `infaas <command> --help` for its options and examples.',
    '',
    'examples:',
    '  infaas demo',
    '  infaas modarch classification fashion-mnist',
    '  infaas query -i examples/fashion-mnist/ankle-boot.png -t classification -D fashion-mnist -A 85 -l 5',
    '',
  ].join('\n');
}

function closest(name: string): string | undefined {
  const names = [...COMMANDS.map((c) => c.spec.name), ...Object.keys(ALIASES), 'help'];
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return d[a.length][b.length];
  };
  const best = names.map((n) => [n, dist(name, n)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= 2 ? best[0] : undefined;
}

function reportError(e: unknown, ctx: CliContext, json: boolean): number {
  if (e instanceof CliError) {
    const lines = [`error: ${e.message}`, ...alternativesText(e.details)];
    if (e.exitCode === 2 && e.command) lines.push(`(see \`infaas ${e.command} --help\`)`);
    ctx.stderr(lines.join('\n') + '\n');
    if (json && e.exitCode !== 2 && !e.jsonPrinted) ctx.stdout(JSON.stringify({ error: e.message, code: e.code ?? (e.exitCode === 3 ? 'UNREACHABLE' : 'ERROR'), ...(e.details ? { details: e.details } : {}) }, null, 2) + '\n');
    return e.exitCode;
  }
  // Typed errors from local work (decoding an image folder, a validation set) are the user's input: exit 2.
  const code = (e as { code?: unknown })?.code;
  const message = e instanceof Error ? e.message : String(e);
  ctx.stderr(`error: ${message}\n`);
  return e instanceof Error && e.name === 'InfaasError' && code !== 'INTERNAL' ? 2 : 1;
}

/** Runs `infaas <argv...>` and returns the exit code (0 ok, 1 server-side error, 2 usage error, 3 unreachable). */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    ctx.stderr(generalHelp());
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic === undefined) {
      ctx.stdout(generalHelp());
      return 0;
    }
    const cmd = findCommand(topic);
    if (!cmd) return reportError(new CliError(`unknown command "${topic}" (see \`infaas help\`)`, 2), ctx, false);
    ctx.stdout(helpText(cmd.spec));
    return 0;
  }
  const cmd = findCommand(name);
  if (!cmd) {
    const hint = name.startsWith('-') ? '' : closest(name);
    const msg = name.startsWith('-') ? `expected a command before ${name}` : `unknown command "${name}"${hint ? ` — did you mean \`${hint}\`?` : ''}`;
    return reportError(new CliError(`${msg} (see \`infaas help\`)`, 2), ctx, false);
  }
  const json = rest.includes('--json');
  try {
    const args = parseCommand(cmd.spec, rest);
    if (args.help) {
      ctx.stdout(helpText(cmd.spec));
      return 0;
    }
    await cmd.run(args, ctx);
    return 0;
  } catch (e) {
    return reportError(e, ctx, json);
  }
}
