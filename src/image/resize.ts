// Resizing of single-channel float planes: area averaging along an axis that shrinks, bilinear along one that grows.
//
// The resize is separable: rows first, then columns. Each axis independently picks area averaging (every source
// pixel contributes in proportion to how much of it an output pixel covers — no aliasing when shrinking) or
// bilinear interpolation with pixel-centre alignment (smooth when enlarging).

/** Weights that turn `n` source samples into `m` output samples along one axis. */
interface AxisPlan {
  /** For output i: source indices and their weights (weights sum to 1). */
  index: Int32Array[];
  weight: Float32Array[];
}

function areaPlan(n: number, m: number): AxisPlan {
  const scale = n / m;
  const index: Int32Array[] = [];
  const weight: Float32Array[] = [];
  for (let i = 0; i < m; i++) {
    const lo = i * scale;
    const hi = (i + 1) * scale;
    const first = Math.floor(lo);
    const last = Math.min(n - 1, Math.ceil(hi) - 1);
    const idx: number[] = [];
    const w: number[] = [];
    for (let s = first; s <= last; s++) {
      const cover = Math.min(hi, s + 1) - Math.max(lo, s);
      if (cover > 1e-9) {
        idx.push(s);
        w.push(cover / scale);
      }
    }
    index.push(Int32Array.from(idx));
    weight.push(Float32Array.from(w));
  }
  return { index, weight };
}

function bilinearPlan(n: number, m: number): AxisPlan {
  const scale = n / m;
  const index: Int32Array[] = [];
  const weight: Float32Array[] = [];
  for (let i = 0; i < m; i++) {
    const src = Math.min(n - 1, Math.max(0, (i + 0.5) * scale - 0.5));
    const a = Math.floor(src);
    const b = Math.min(n - 1, a + 1);
    const t = src - a;
    if (a === b || t === 0) {
      index.push(Int32Array.of(a));
      weight.push(Float32Array.of(1));
    } else {
      index.push(Int32Array.of(a, b));
      weight.push(Float32Array.of(1 - t, t));
    }
  }
  return { index, weight };
}

function plan(n: number, m: number): AxisPlan {
  return m < n ? areaPlan(n, m) : bilinearPlan(n, m);
}

/**
 * Resizes a row-major `width` x `height` plane to `outWidth` x `outHeight`.
 * Returns the input unchanged (same array) when the size already matches.
 */
export function resizePlane(src: Float32Array, width: number, height: number, outWidth: number, outHeight: number): Float32Array {
  if (width === outWidth && height === outHeight) return src;
  const px = plan(width, outWidth);
  const py = plan(height, outHeight);
  // Horizontal pass: height x outWidth.
  const tmp = new Float32Array(height * outWidth);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < outWidth; x++) {
      const idx = px.index[x];
      const w = px.weight[x];
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += src[row + idx[k]] * w[k];
      tmp[y * outWidth + x] = acc;
    }
  }
  // Vertical pass: outHeight x outWidth.
  const out = new Float32Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const idx = py.index[y];
    const w = py.weight[y];
    for (let x = 0; x < outWidth; x++) {
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += tmp[idx[k] * outWidth + x] * w[k];
      out[y * outWidth + x] = acc;
    }
  }
  return out;
}
