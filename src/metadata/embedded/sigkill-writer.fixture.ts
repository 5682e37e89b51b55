// Child process for the SIGKILL test: writes (and sometimes deletes) keys through EmbeddedStore with several
// concurrent writers, compacting often, and prints a line after each acknowledged mutation until it is killed.
// Usage: node --import tsx sigkill-writer.fixture.ts <dir> <first-index> <writers>

import { EmbeddedStore } from './log-store.ts';

/** The value written for index i (log-store.test.ts recomputes it the same way). */
function valueFor(i: number): { i: number; pad: string } {
  return { i, pad: 'p'.repeat((i * 37) % 3000) };
}

async function main(): Promise<void> {
  const [dir, first, writers] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const store = await EmbeddedStore.open(dir, { compactMinBytes: 64 << 10, compactRatio: 1.5 }); // compacts often
  let compactions = 0;
  process.stdout.write('opened\n');
  const writer = async (w: number) => {
    for (let i = first + w; ; i += writers) {
      await Promise.all([store.set(`k/${i}`, valueFor(i)), store.set(`hot/${w}`, valueFor(i))]);
      process.stdout.write(`written ${i}\n`);
      if (store.stats().compactions > compactions) process.stdout.write(`compacted ${(compactions = store.stats().compactions)}\n`);
      if (i % 7 === 0) {
        process.stdout.write(`deleting ${i}\n`);
        await store.delete(`k/${i}`);
        process.stdout.write(`deleted ${i}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
}

void main();
