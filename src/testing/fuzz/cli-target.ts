// Fuzzing: the CLI's argument parser — every command's options (long, short, `--x=v`, repeated, missing values,
// `--`), number flags and --server URLs; it must parse or refuse with a usage error (CliError), nothing else.

import fc from 'fast-check';
import { allOptions, numberFlag, parseCommand, serverUrl, str } from '../../cli/args.ts';
import { CliError } from '../../cli/cli-error.ts';
import { COMMANDS } from '../../cli/main.ts';
import { serverOptions } from '../../cli/commands/serve.ts';
import { hostileNumber, hostileString } from './hostile.ts';
import { signature } from './oracle.ts';
import type { Target } from './runner.ts';

interface CliCase {
  command: string;
  argv: string[];
}

const valueArb = fc.oneof(hostileString, hostileNumber.map(String), fc.constantFrom('http://127.0.0.1:1', 'ftp://x', 'http://', '::', '-1', '1e999', '0x10', ' 8 ', ''));

const cliArb: fc.Arbitrary<CliCase> = fc.constantFrom(...COMMANDS).chain((cmd) => {
  const opts = Object.entries(allOptions(cmd.spec));
  const token = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...opts), valueArb, fc.constantFrom('sep', 'eq', 'bare', 'short')).map(([[name, o], v, how]) =>
      how === 'eq' ? [`--${name}=${v}`] : how === 'bare' ? [`--${name}`] : how === 'short' && o.short ? [`-${o.short}`, v] : o.type === 'string' ? [`--${name}`, v] : [`--${name}`]) },
    { weight: 2, arbitrary: valueArb.map((v) => [v]) },
    { weight: 1, arbitrary: fc.constantFrom(['--'], ['-'], ['--unknown-flag'], ['-Z'], ['---x'], ['--=x'], ['-pp']) },
  );
  return fc.array(token, { maxLength: 6 }).map((ts) => ({ command: cmd.spec.name, argv: ts.flat() }));
});

function run(c: CliCase): void {
  const cmd = COMMANDS.find((x) => x.spec.name === c.command)!;
  const args = parseCommand(cmd.spec, c.argv);
  if (args.help) return;
  if (c.command === 'serve' || c.command === 'demo') serverOptions(args, c.command === 'demo', c.command);
  if (cmd.spec.client) serverUrl(args, {}, c.command);
  for (const [name, o] of Object.entries(allOptions(cmd.spec))) {
    if (o.type === 'string' && !o.multiple) numberFlag(name, str(args, name), { integer: name.length % 2 === 0, min: 0, max: 100 }, c.command);
  }
}

export const cliTarget: Target<CliCase> = {
  name: 'CLI arguments (parseCommand)',
  arb: cliArb,
  run: (c) => {
    try {
      run(c);
    } catch (e) {
      if (e instanceof CliError && e.exitCode === 2) return {};
      const err = e as Error;
      return { verdict: { kind: `crash: ${err?.name}: ${signature(String(err?.message ?? e))}`, detail: String(err?.message ?? e).slice(0, 300) } };
    }
    return {};
  },
  describe: (c) => `infaas ${c.command} ${JSON.stringify(c.argv).slice(0, 200)}`,
  size: (c) => c.argv.join(' ').length,
};
