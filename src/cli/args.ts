// Argument parsing for every `infaas` command: node:util parseArgs plus help text, usage errors and number checks.

import { parseArgs } from 'node:util';
import { usageError } from './cli-error.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** One line for --help. */
  description: string;
  /** Placeholder shown in --help, e.g. "MS". */
  valueName?: string;
}

export interface CommandSpec {
  name: string;
  /** One line for `infaas help`. */
  summary: string;
  /** Usage line without the leading "infaas ", e.g. "modarch <task> <dataset>". */
  usage: string;
  examples: string[];
  /** Extra paragraphs for --help. */
  notes?: string[];
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number };
  /** Client commands also take --server and --json. */
  client: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const CLIENT_OPTIONS: Record<string, OptionSpec> = {
  server: { type: 'string', valueName: 'URL', description: `INFaaS server (default: $INFAAS_URL or ${DEFAULT_SERVER})` },
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
};
const HELP_OPTION: Record<string, OptionSpec> = { help: { type: 'boolean', short: 'h', description: 'show this help' } };

/** Every option a command accepts, including the shared ones. */
export function allOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.client ? CLIENT_OPTIONS : {}), ...HELP_OPTION };
}

/**
 * Parses `argv` (the arguments after the command name) against `spec`.
 * @throws CliError (exit 2) for unknown options, missing option values and a wrong number of positionals —
 *   unless --help is present, in which case nothing else is checked.
 */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedArgs {
  const options = allOptions(spec);
  const config = Object.fromEntries(
    Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  if (argv.includes('--help') || argv.includes('-h')) return { values: {}, positionals: [], help: true };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(explainParseError(e, spec), spec.name);
  }
  const { positionals } = parsed;
  if (positionals.length < spec.positionals.min) throw usageError(`missing arguments: usage: infaas ${spec.usage}`, spec.name);
  if (positionals.length > spec.positionals.max) throw usageError(`unexpected argument "${positionals[spec.positionals.max]}"`, spec.name);
  return { values: parsed.values as ParsedArgs['values'], positionals, help: false };
}

function explainParseError(e: unknown, spec: CommandSpec): string {
  const err = e as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(err.message ?? '')?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''} for \`infaas ${spec.name}\``.replace('  ', ' ');
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return quoted && /argument missing/.test(err.message ?? '')
        ? `option ${quoted.replace(/ <value>$/, '')} needs a value`
        : (err.message ?? 'invalid option value');
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ? `"${quoted}"` : ''}`.trim();
    default:
      return err.message ?? String(e);
  }
}

/** The help text of a command: usage line, options, notes and examples. */
export function helpText(spec: CommandSpec): string {
  const opts = Object.entries(allOptions(spec)).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    return [flag, o.description + (o.multiple ? ' (repeatable)' : '')];
  });
  const width = Math.max(...opts.map(([f]) => f.length));
  const lines = [`usage: infaas ${spec.usage}`, '', spec.summary, ''];
  if (spec.notes?.length) lines.push(...spec.notes, '');
  lines.push('options:', ...opts.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`), '', 'examples:', ...spec.examples.map((x) => `  ${x}`));
  return lines.join('\n') + '\n';
}

/** A string option's value, or undefined. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function strs(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/**
 * Parses a number flag.
 * @throws CliError (exit 2) naming the flag when the text is not a finite number, or not an integer / positive /
 *   within bounds as required.
 */
export function numberFlag(
  name: string,
  text: string | undefined,
  rules: { integer?: boolean; min?: number; max?: number; exclusiveMin?: number } = {},
  command?: string,
): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw usageError(`--${name} must be a number, got "${text}"`, command);
  if (rules.integer && !Number.isInteger(v)) throw usageError(`--${name} must be a whole number, got "${text}"`, command);
  if (rules.exclusiveMin !== undefined && !(v > rules.exclusiveMin)) throw usageError(`--${name} must be greater than ${rules.exclusiveMin}, got ${text}`, command);
  if (rules.min !== undefined && v < rules.min) throw usageError(`--${name} must be at least ${rules.min}, got ${text}`, command);
  if (rules.max !== undefined && v > rules.max) throw usageError(`--${name} must be at most ${rules.max}, got ${text}`, command);
  return v;
}

/** The server base URL: --server, else $INFAAS_URL, else the default; validated as an http(s) URL. */
export function serverUrl(args: ParsedArgs, env: Record<string, string | undefined>, command?: string): string {
  const raw = str(args, 'server') ?? env.INFAAS_URL ?? DEFAULT_SERVER;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`--server must be a URL like ${DEFAULT_SERVER}, got "${raw}"`, command);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError(`--server must be an http(s) URL, got "${raw}"`, command);
  return raw.replace(/\/+$/, '');
}
