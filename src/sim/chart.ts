// Hand-written SVG charts of a simulation comparison (no dependency): grouped bars of SLO-violation rate
// and cost per trace and policy, and the rate-vs-workers time series of one trace.

import type { RunMetrics, SeriesPoint } from './metrics.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Box { x: number; y: number; w: number; h: number }

function bars(runs: readonly RunMetrics[], traces: string[], policies: string[], box: Box, value: (m: RunMetrics) => number, title: string, fmt: (v: number) => string): string {
  const max = Math.max(1e-12, ...runs.map(value)) * 1.1;
  const groupW = box.w / traces.length;
  const barW = (groupW * 0.8) / policies.length;
  const out = [`<text x="${box.x}" y="${box.y - 8}" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${box.x}" y1="${box.y + box.h}" x2="${box.x + box.w}" y2="${box.y + box.h}" stroke="#333"/>`];
  for (let k = 0; k <= 4; k++) {
    const y = box.y + box.h - (k / 4) * box.h;
    out.push(`<line x1="${box.x}" y1="${y}" x2="${box.x + box.w}" y2="${y}" stroke="#ddd"/>`, `<text x="${box.x - 4}" y="${y + 4}" font-size="10" text-anchor="end">${esc(fmt((k / 4) * max))}</text>`);
  }
  traces.forEach((t, i) => {
    const gx = box.x + i * groupW + groupW * 0.1;
    policies.forEach((p, j) => {
      const m = runs.find((r) => r.trace === t && r.policy === p);
      if (!m) return;
      const h = (value(m) / max) * box.h;
      out.push(`<rect x="${gx + j * barW}" y="${box.y + box.h - h}" width="${barW - 1}" height="${h}" fill="${COLOURS[j % COLOURS.length]}"><title>${esc(`${p} on ${t}: ${fmt(value(m))}`)}</title></rect>`);
    });
    out.push(`<text x="${gx + groupW * 0.4}" y="${box.y + box.h + 14}" font-size="11" text-anchor="middle">${esc(t)}</text>`);
  });
  return out.join('\n');
}

function lines(series: ReadonlyMap<string, SeriesPoint[]>, box: Box, title: string): string {
  const all = [...series.values()].flat();
  if (all.length === 0) return '';
  const tMax = Math.max(...all.map((p) => p.t));
  const qMax = Math.max(1, ...all.map((p) => p.qps)) * 1.05;
  const wMax = Math.max(1, ...all.map((p) => p.workers)) * 1.05;
  const x = (t: number) => box.x + (t / tMax) * box.w;
  const path = (pts: SeriesPoint[], y: (p: SeriesPoint) => number) => pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p).toFixed(1)}`).join('');
  const out = [`<text x="${box.x}" y="${box.y - 8}" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#333"/>`,
    `<text x="${box.x - 4}" y="${box.y + 10}" font-size="10" text-anchor="end">${Math.round(qMax)} qps</text>`,
    `<text x="${box.x + box.w + 4}" y="${box.y + 10}" font-size="10">${Math.round(wMax)} workers</text>`,
    `<text x="${box.x + box.w}" y="${box.y + box.h + 14}" font-size="10" text-anchor="end">${Math.round(tMax)} s</text>`];
  const first = [...series.values()][0];
  out.push(`<path d="${path(first, (p) => box.y + box.h - (p.qps / qMax) * box.h)}" fill="none" stroke="#999" stroke-width="1"/>`);
  [...series.entries()].forEach(([, pts], j) => {
    out.push(`<path d="${path(pts, (p) => box.y + box.h - (p.workers / wMax) * box.h)}" fill="none" stroke="${COLOURS[j % COLOURS.length]}" stroke-width="2"/>`);
  });
  return out.join('\n');
}

/**
 * An SVG document: violation-rate and cost bars for every trace × policy in `runs`, and, for `seriesTrace`,
 * the query rate (grey) with each policy's worker count over time.
 */
export function comparisonSvg(runs: readonly RunMetrics[], series: ReadonlyMap<string, ReadonlyMap<string, SeriesPoint[]>>, seriesTrace?: string): string {
  const traces = [...new Set(runs.map((r) => r.trace))];
  const policies = [...new Set(runs.map((r) => r.policy))];
  const W = 960, H = 820;
  const legend = policies.map((p, j) => `<rect x="${80 + j * 150}" y="36" width="12" height="12" fill="${COLOURS[j % COLOURS.length]}"/><text x="${96 + j * 150}" y="46" font-size="12">${esc(p)}</text>`).join('\n');
  const st = seriesTrace ?? traces[0];
  const body = [
    bars(runs, traces, policies, { x: 80, y: 80, w: 840, h: 180 }, (m) => m.violationRate * 100, 'SLO violations (% of queries: late or rejected)', (v) => `${v.toFixed(v < 10 ? 2 : 1)}%`),
    bars(runs, traces, policies, { x: 80, y: 320, w: 840, h: 180 }, (m) => m.cost, 'Cost (worker-hours × price)', (v) => v.toPrecision(2)),
    st && series.get(st) ? lines(series.get(st)!, { x: 80, y: 560, w: 800, h: 220 }, `${st}: query rate (grey) and workers per policy`) : '',
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="80" y="22" font-size="16" font-weight="bold">INFaaS simulator: policies × traces</text>
${legend}
${body}
</svg>
`;
}
