// `infaas serve` and `infaas demo`: start the embedded server (controller + local workers) in this process.

import { resolve } from 'node:path';
import { usageError } from '../cli-error.ts';
import { numberFlag, str, type CommandSpec, type ParsedArgs } from '../args.ts';
import type { CliContext, ServerOptions } from '../cli-context.ts';
import type { Command } from '../command.ts';

const common: CommandSpec['options'] = {
  port: { type: 'string', short: 'p', valueName: 'N', description: 'TCP port to listen on (default 8080; 0 picks a free one)' },
  host: { type: 'string', valueName: 'H', description: 'address to bind (default 127.0.0.1)' },
  'data-dir': { type: 'string', valueName: 'DIR', description: 'where models, profiles and metadata live (default ./.infaas)' },
  autoscale: { type: 'string', valueName: 'POLICY', description: 'the live scaling policy: ours, infaas or off (default ours, or the config file\'s autoscaling.policy)' },
  metadata: { type: 'string', valueName: 'URL', description: 'shared metadata store for several controllers and remote workers, redis://HOST:PORT/DB (default $INFAAS_METADATA_URL, else the embedded store)' },
  repository: { type: 'string', valueName: 'URL', description: 'model repository, s3://BUCKET/PREFIX or a directory (default $INFAAS_REPOSITORY_URL, else DATA-DIR/models)' },
  provisioner: { type: 'string', valueName: 'KIND', description: 'how workers are started: local, kubernetes or none (default $INFAAS_PROVISIONER, else local)' },
  id: { type: 'string', valueName: 'NAME', description: 'this controller\'s name among several (default $INFAAS_CONTROLLER_ID, else HOSTNAME-PID)' },
  'allowed-hosts': { type: 'string', valueName: 'LIST', description: 'comma-separated host names clients may reach this server by, besides localhost, IP addresses and --host: NAME, .DOMAIN or * (default $INFAAS_ALLOWED_HOSTS, else none; see docs/security.md)' },
  'allowed-origins': { type: 'string', valueName: 'LIST', description: 'comma-separated origins whose web pages may call the API, e.g. https://app.example.com, or * (default $INFAAS_ALLOWED_ORIGINS, else none)' },
};

const AUTOSCALE = ['off', 'ours', 'infaas'] as const;
const PROVISIONERS = ['local', 'kubernetes', 'none'] as const;

/** The runServer options from parsed serve/demo flags. */
export function serverOptions(args: ParsedArgs, demo: boolean, command: string): ServerOptions {
  const port = numberFlag('port', str(args, 'port'), { integer: true, min: 0, max: 65535 }, command);
  const host = str(args, 'host');
  const autoscale = str(args, 'autoscale');
  if (autoscale !== undefined && !(AUTOSCALE as readonly string[]).includes(autoscale)) {
    throw usageError(`--autoscale must be one of ${AUTOSCALE.join(', ')}, got "${autoscale}"`, command);
  }
  const provisioner = str(args, 'provisioner');
  if (provisioner !== undefined && !(PROVISIONERS as readonly string[]).includes(provisioner)) {
    throw usageError(`--provisioner must be one of ${PROVISIONERS.join(', ')}, got "${provisioner}"`, command);
  }
  const distributed = { metadata: str(args, 'metadata'), repository: str(args, 'repository'), provisioner, controllerId: str(args, 'id') };
  const allowedHosts = listFlag(args, 'allowed-hosts', command);
  const allowedOrigins = listFlag(args, 'allowed-origins', command);
  return {
    demo,
    ...(allowedHosts ? { allowedHosts } : {}),
    ...(allowedOrigins ? { allowedOrigins } : {}),
    ...(Object.fromEntries(Object.entries(distributed).filter(([, v]) => v !== undefined)) as Partial<ServerOptions>),
    dataDir: resolve(str(args, 'data-dir') ?? '.infaas'),
    ...(port !== undefined ? { port } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(autoscale !== undefined ? { autoscale: autoscale as (typeof AUTOSCALE)[number] } : {}),
  };
}

/** A comma-separated flag as a list; refused when it names nothing. */
function listFlag(args: ParsedArgs, name: string, command: string): string[] | undefined {
  const text = str(args, name);
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw usageError(`--${name} needs at least one entry, comma-separated`, command);
  return items;
}

async function start(opts: ServerOptions, ctx: CliContext): Promise<void> {
  const runServer = await ctx.loadServer();
  await runServer(opts);
}

export const serveCommand: Command = {
  spec: {
    name: 'serve',
    summary: 'Start the INFaaS server (REST API, controller and local workers) in the foreground.',
    usage: 'serve [--port N] [--host H] [--data-dir DIR] [--autoscale POLICY] [--metadata URL] [--repository URL] [--provisioner KIND] [--id NAME] [--allowed-hosts LIST] [--allowed-origins LIST]',
    examples: [
      'infaas serve', 'infaas serve --autoscale off', 'infaas serve --port 9000 --data-dir /var/lib/infaas',
      'infaas serve --metadata redis://10.0.0.2:6379/0 --repository s3://models/prod --provisioner none',
      'infaas serve --host 0.0.0.0 --allowed-hosts infaas.internal',
    ],
    options: common,
    positionals: { min: 0, max: 0 },
    client: false,
  },
  run: (args, ctx) => start(serverOptions(args, false, 'serve'), ctx),
};

export const demoCommand: Command = {
  spec: {
    name: 'demo',
    summary: 'Start the server with the bundled model zoo registered, ready to query.',
    usage: 'demo [--port N] [--host H] [--data-dir DIR] [--autoscale POLICY]',
    examples: ['infaas demo', 'infaas query -i examples/fashion-mnist/ankle-boot.png -t classification -D fashion-mnist -A 85 -l 5'],
    options: common,
    positionals: { min: 0, max: 0 },
    client: false,
  },
  run: (args, ctx) => start(serverOptions(args, true, 'demo'), ctx),
};
