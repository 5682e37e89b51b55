// Dense matrix products on row-major Float32Array, written for the JIT: a 4x4 register block in the inner loop
// (four rows of A times four rows of B update four rows of C), contiguous row walks, no allocation per call.
//
// All functions ACCUMULATE into C (C += ...) so callers can zero C or add a bias first.
// Shapes are named [rows, cols]; the offsets address sub-arrays of larger buffers.

/**
 * C[m,n] += A·B[k,n] where A(i,p) = A[aOff + i*si + p*sp] (si=k, sp=1: A is [m,k]; si=1, sp=m: A is [k,m] transposed).
 */
function kernel(m: number, n: number, k: number, A: Float32Array, aOff: number, si: number, sp: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number): void {
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
    const r0 = aOff + i * si, r1 = r0 + si, r2 = r1 + si, r3 = r2 + si;
    let p = 0;
    for (; p + 3 < k; p += 4) {
      const q0 = p * sp, q1 = q0 + sp, q2 = q1 + sp, q3 = q2 + sp;
      const a00 = A[r0 + q0], a01 = A[r0 + q1], a02 = A[r0 + q2], a03 = A[r0 + q3];
      const a10 = A[r1 + q0], a11 = A[r1 + q1], a12 = A[r1 + q2], a13 = A[r1 + q3];
      const a20 = A[r2 + q0], a21 = A[r2 + q1], a22 = A[r2 + q2], a23 = A[r2 + q3];
      const a30 = A[r3 + q0], a31 = A[r3 + q1], a32 = A[r3 + q2], a33 = A[r3 + q3];
      const b0 = bOff + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
      for (let j = 0; j < n; j++) {
        const x0 = B[b0 + j], x1 = B[b1 + j], x2 = B[b2 + j], x3 = B[b3 + j];
        C[c0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
        C[c1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
        C[c2 + j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
        C[c3 + j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
      }
    }
    for (; p < k; p++) {
      const q = p * sp;
      const a0 = A[r0 + q], a1 = A[r1 + q], a2 = A[r2 + q], a3 = A[r3 + q];
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) {
        const x = B[bp + j];
        C[c0 + j] += a0 * x;
        C[c1 + j] += a1 * x;
        C[c2 + j] += a2 * x;
        C[c3 + j] += a3 * x;
      }
    }
  }
  for (; i < m; i++) {
    const ci = cOff + i * n, ri = aOff + i * si;
    for (let p = 0; p < k; p++) {
      const a = A[ri + p * sp];
      if (a === 0) continue;
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) C[ci + j] += a * B[bp + j];
    }
  }
}

/** C[m,n] += A[m,k] · B[k,n]. */
export function gemmNN(m: number, n: number, k: number, A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number): void {
  kernel(m, n, k, A, aOff, k, 1, B, bOff, C, cOff);
}

/** C[m,n] += A[k,m]^T · B[k,n]. */
export function gemmTN(m: number, n: number, k: number, A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number): void {
  kernel(m, n, k, A, aOff, 1, m, B, bOff, C, cOff);
}

let scratch = new Float32Array(0);

/** C[m,n] += A[m,k] · B[n,k]^T  (B is transposed once into a scratch buffer, then the NN kernel runs). */
export function gemmNT(m: number, n: number, k: number, A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number): void {
  if (scratch.length < n * k) scratch = new Float32Array(n * k);
  const t = scratch;
  for (let j = 0; j < n; j++) {
    const bj = bOff + j * k;
    for (let p = 0; p < k; p++) t[p * n + j] = B[bj + p];
  }
  kernel(m, n, k, A, aOff, k, 1, t, 0, C, cOff);
}
