// Registration progress on stderr: a bar redrawn in place on a terminal, one plain line per change otherwise.

/** `[#####.....] 12/40 profiling t2 all b8` (width = number of cells). */
export function progressBar(done: number, total: number, stage: string, width = 10): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total}${stage ? ` ${stage}` : ''}`;
}

export class ProgressReporter {
  private last = '';
  private drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(done: number, total: number, stage: string): void {
    const line = progressBar(done, total, stage);
    if (line === this.last) return;
    this.last = line;
    if (this.tty) {
      this.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else {
      this.write(`progress ${line}\n`);
    }
  }

  /** Ends the in-place line so later output starts on a fresh line. */
  finish(): void {
    if (this.tty && this.drawn) this.write('\n');
    this.drawn = false;
  }
}
