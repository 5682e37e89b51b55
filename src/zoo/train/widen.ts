// Function-preserving widening (Net2WiderNet, Chen et al. 2016): copies a trained narrow network into a wider one
// with the same layer sequence, so a costly architecture starts from a cheaply trained one and is then fine-tuned.
//
// Each widened output unit j copies narrow unit g(j) (g(j) = j for the original units, a seeded random original unit
// otherwise); the next layer divides the incoming weights of every copy by the number of copies, so the wide network
// computes the same function before the small symmetry-breaking noise is added. ReLU and max-pooling act per channel
// and Flatten is channel-major, so the mapping passes through them unchanged.

import type { Rng } from '../prng.ts';
import type { Sequential } from './model.ts';

export function widenInto(narrow: Sequential, wide: Sequential, rng: Rng, noise = 0.01): void {
  const nl = narrow.layers, wl = wide.layers;
  if (nl.length !== wl.length || nl.some((l, i) => l.kind !== wl[i].kind)) throw new Error('widenInto: the two networks must have the same layer sequence');
  // g maps wide input channels of the current layer to narrow channels; counts[c] = copies of narrow channel c.
  let g: Int32Array = Int32Array.from({ length: nl[0].inShape[0] }, (_, i) => i);
  let counts = new Float32Array(g.length).fill(1);
  for (let li = 0; li < nl.length; li++) {
    const n = nl[li], w = wl[li];
    if (n.kind === 'flatten') {
      // channel map -> feature map over c*h*w
      const [c, h, ww] = w.inShape;
      const hw = h * ww;
      const nc = n.inShape[0];
      const g2 = new Int32Array(c * hw);
      for (let ch = 0; ch < c; ch++) for (let s = 0; s < hw; s++) g2[ch * hw + s] = g[ch] * hw + s;
      const counts2 = new Float32Array(nc * hw);
      for (let ch = 0; ch < nc; ch++) for (let s = 0; s < hw; s++) counts2[ch * hw + s] = counts[ch];
      g = g2;
      counts = counts2;
      continue;
    }
    if (n.params.length === 0) continue;
    const [nW, nB] = n.params, [wW, wB] = w.params;
    const nOut = nW.shape[0], wOut = wW.shape[0];
    const nIn = nW.shape[1], wIn = wW.shape[1];
    const ks = nW.value.length / (nOut * nIn); // 9 for conv, 1 for dense
    const isLast = li === nl.length - 1 || wl.slice(li + 1).every((l) => l.params.length === 0);
    const out = Int32Array.from({ length: wOut }, (_, j) => (j < nOut ? j : rng.int(nOut)));
    if (isLast && wOut !== nOut) throw new Error('widenInto: the output layer cannot change size');
    let std = 0;
    for (const v of nW.value) std += v * v;
    std = Math.sqrt(std / nW.value.length);
    for (let j = 0; j < wOut; j++) {
      for (let i = 0; i < wIn; i++) {
        const src = (out[j] * nIn + g[i]) * ks, dst = (j * wIn + i) * ks;
        const scale = 1 / counts[g[i]];
        for (let t = 0; t < ks; t++) wW.value[dst + t] = nW.value[src + t] * scale + noise * std * rng.normal();
      }
      wB.value[j] = nB.value[out[j]];
    }
    g = out;
    counts = new Float32Array(nOut);
    for (const c of out) counts[c]++;
  }
}
