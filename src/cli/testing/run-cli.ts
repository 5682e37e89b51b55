// Test helper: runs the CLI in process with captured stdout/stderr and no server, returning the exit code.

import type { CliContext } from '../cli-context.ts';
import { runCli } from '../main.ts';

export async function runCliCaptured(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const ctx: CliContext = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    stderrIsTTY: false,
    env,
    loadServer: async () => async () => undefined,
    loadWorker: async () => async () => undefined,
  };
  const code = await runCli(argv, ctx);
  return { code, ...out };
}
