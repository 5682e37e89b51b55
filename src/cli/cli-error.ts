// Errors of the `infaas` command line, each carrying the process exit code it ends with.

/** 1: the server refused or failed the request · 2: bad usage or bad local input · 3: the server cannot be reached. */
export type ExitCode = 1 | 2 | 3;

export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** The server's stable error code, for server-side errors. */
  readonly code?: string;
  /** The server's `details`, for server-side errors (e.g. `alternatives` of SLO_UNSATISFIABLE). */
  readonly details?: Record<string, unknown>;
  /** Name of the command whose usage was wrong, to point at its --help. */
  readonly command?: string;
  /** The command already printed its --json result (e.g. a FAILED registration); print no error JSON. */
  readonly jsonPrinted: boolean;

  constructor(message: string, exitCode: ExitCode, extra: { code?: string; details?: Record<string, unknown>; command?: string; jsonPrinted?: boolean } = {}) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = extra.code;
    this.details = extra.details;
    this.command = extra.command;
    this.jsonPrinted = extra.jsonPrinted ?? false;
  }
}

/** A usage error (exit code 2): bad flags, missing arguments, unreadable local files. */
export const usageError = (message: string, command?: string) => new CliError(message, 2, { command });
