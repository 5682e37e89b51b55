// A binary min-heap of timed events for the discrete-event simulator: O(log n) push and pop, ties
// broken by insertion order so a run is deterministic.

export interface TimedEvent {
  /** Simulated time, ms. */
  readonly t: number;
}

export class EventQueue<E extends TimedEvent> {
  private readonly items: E[] = [];
  private readonly seqs: number[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  push(e: E): void {
    const items = this.items, seqs = this.seqs;
    let i = items.length;
    items.push(e);
    seqs.push(this.nextSeq++);
    const seq = seqs[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (items[p].t < e.t || (items[p].t === e.t && seqs[p] < seq)) break;
      items[i] = items[p];
      seqs[i] = seqs[p];
      i = p;
    }
    items[i] = e;
    seqs[i] = seq;
  }

  /** The earliest event without removing it. */
  peek(): E | undefined {
    return this.items[0];
  }

  /** Removes and returns the earliest event (earliest pushed among equal times). */
  pop(): E | undefined {
    const items = this.items, seqs = this.seqs;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0];
    const last = items.pop() as E;
    const lastSeq = seqs.pop() as number;
    if (n > 1) {
      let i = 0;
      const m = n - 1;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        const r = l + 1;
        let c = l;
        if (r < m && (items[r].t < items[l].t || (items[r].t === items[l].t && seqs[r] < seqs[l]))) c = r;
        if (last.t < items[c].t || (last.t === items[c].t && lastSeq < seqs[c])) break;
        items[i] = items[c];
        seqs[i] = seqs[c];
        i = c;
      }
      items[i] = last;
      seqs[i] = lastSeq;
    }
    return top;
  }
}
