// Checks the three GEMM forms against a naive triple loop, including ragged sizes and offsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../prng.ts';
import { gemmNN, gemmNT, gemmTN } from './gemm.ts';

function rand(n: number, seed: number): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => r.next() * 2 - 1);
}

function naive(m: number, n: number, k: number, a: (i: number, p: number) => number, b: (p: number, j: number) => number, c0: Float32Array): Float64Array {
  const c = Float64Array.from(c0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a(i, p) * b(p, j);
  return c;
}

function close(got: Float32Array, want: Float64Array, off = 0): void {
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[off + i] - want[i]) < 1e-4, `element ${i}: ${got[off + i]} vs ${want[i]}`);
}

for (const [m, n, k] of [[1, 1, 1], [5, 7, 3], [4, 4, 4], [9, 13, 11], [16, 10, 37]]) {
  test(`gemm ${m}x${n}x${k} (NN, TN, NT) accumulate like the naive product`, () => {
    const A = rand(3 + m * k, 1), B = rand(2 + k * n, 2), C0 = rand(m * n, 3);
    const Cnn = new Float32Array(1 + m * n);
    Cnn.set(C0, 1);
    gemmNN(m, n, k, A, 3, B, 2, Cnn, 1);
    close(Cnn, naive(m, n, k, (i, p) => A[3 + i * k + p], (p, j) => B[2 + p * n + j], C0), 1);

    const At = rand(k * m, 4); // [k, m]
    const Ctn = Float32Array.from(C0);
    gemmTN(m, n, k, At, 0, B, 2, Ctn, 0);
    close(Ctn, naive(m, n, k, (i, p) => At[p * m + i], (p, j) => B[2 + p * n + j], C0));

    const Bt = rand(n * k, 5); // [n, k]
    const Cnt = Float32Array.from(C0);
    gemmNT(m, n, k, A, 3, Bt, 0, Cnt, 0);
    close(Cnt, naive(m, n, k, (i, p) => A[3 + i * k + p], (p, j) => Bt[j * k + p], C0));
  });
}
