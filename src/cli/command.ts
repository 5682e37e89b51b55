// The shape of one `infaas` command and small helpers every command uses.

import { serverUrl, type CommandSpec, type ParsedArgs } from './args.ts';
import { ApiClient } from './api-client.ts';
import type { CliContext } from './cli-context.ts';

export interface Command {
  spec: CommandSpec;
  /** Runs the command; throws CliError (or anything else, reported as exit 1) on failure. */
  run(args: ParsedArgs, ctx: CliContext): Promise<void>;
}

/** The API client for --server / $INFAAS_URL. */
export function clientFor(args: ParsedArgs, ctx: CliContext, command: string): ApiClient {
  return new ApiClient(serverUrl(args, ctx.env, command));
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout(JSON.stringify(value, null, 2) + '\n');
}

/** "[1,28,28]" */
export function shapeText(shape: readonly number[] | undefined): string {
  return shape ? `[${shape.join(',')}]` : '-';
}
