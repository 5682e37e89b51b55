// The control loop: tasks run at their periods, never overlap themselves, and a throwing task is counted and
// keeps running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlLoop } from './control-loop.ts';

test('runs each task at its period, never two runs of one task at once, and survives a throwing task', async () => {
  const errors: string[] = [];
  const loop = new ControlLoop({ log: { info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) } });
  let fast = 0;
  let slowRunning = 0;
  let slowMax = 0;
  let slowRuns = 0;
  let failing = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  loop.add({ name: 'fast', everyMs: 5, update: () => void fast++ });
  loop.add({
    name: 'slow', everyMs: 1, update: async () => {
      slowMax = Math.max(slowMax, ++slowRunning);
      await new Promise((r) => setTimeout(r, 20));
      slowRunning--;
      if (++slowRuns === 3) done();
    },
  });
  loop.add({ name: 'failing', everyMs: 5, update: () => {
    failing++;
    throw new Error('boom');
  } });
  const keepAlive = setInterval(() => undefined, 1000); // the loop's own timer does not hold the process open
  loop.start();
  await finished;
  clearInterval(keepAlive);
  await loop.close();
  assert.equal(slowMax, 1, 'a task never overlaps itself');
  assert.ok(fast >= 3, `fast ran ${fast} times`);
  assert.ok(failing >= 2, 'a task that throws keeps being called');
  assert.equal(loop.errors().failing, failing);
  assert.match(errors[0], /^failing: Error: boom/);
  const after = fast;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fast, after, 'nothing runs after close');
});
