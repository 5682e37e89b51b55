// Tests of LRU eviction: order, busy replicas, states, tie-breaks and impossible budgets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfaasError } from '../core/errors.ts';
import { chooseEvictions, type EvictionCandidate } from './evict.ts';

const r = (variant: string, memoryMB: number, lastUsedAt: number, queued = 0, state?: EvictionCandidate['state']): EvictionCandidate =>
  ({ variant, memoryMB, lastUsedAt, queued, state });

test('returns [] when the new variant already fits', () => {
  assert.deepEqual(chooseEvictions([r('a', 50, 1)], 50, 100, 50), []);
});

test('evicts least recently used first, only as many as needed', () => {
  const rs = [r('new', 30, 300), r('old', 30, 100), r('mid', 30, 200)];
  assert.deepEqual(chooseEvictions(rs, 20, 100, 90), ['old']);
  assert.deepEqual(chooseEvictions(rs, 50, 100, 90), ['old', 'mid']);
});

test('never evicts a replica with queued work, nor a loading/unloading one', () => {
  const rs = [r('busy', 40, 1, 2), r('loading', 40, 2, 0, 'loading'), r('idle', 20, 3, 0, 'active')];
  assert.deepEqual(chooseEvictions(rs, 20, 100, 100), ['idle']);
  assert.throws(() => chooseEvictions(rs, 30, 100, 100), (e: InfaasError) => e.code === 'UNAVAILABLE' && /worker memory budget too small/.test(e.message));
});

test('equal last use: the bigger replica goes first, then by name', () => {
  assert.deepEqual(chooseEvictions([r('b', 10, 5), r('a', 10, 5), r('c', 30, 5)], 30, 100, 100), ['c']);
  assert.deepEqual(chooseEvictions([r('b', 10, 5), r('a', 10, 5)], 10, 100, 100), ['a']);
});

test('a variant larger than the whole budget is UNAVAILABLE', () => {
  assert.throws(() => chooseEvictions([], 200, 100, 0), (e: InfaasError) => e.code === 'UNAVAILABLE' && /budget too small/.test(e.message));
});
