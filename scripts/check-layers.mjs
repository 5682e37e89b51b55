// Lint: imports between src/ folders only point down the layers of the design (core ← policy ← interfaces ←
// services ← transport ← api ← frontends ← composition roots). Tests may import anything. Exits 1 on a violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Layer of each top-level folder of src/, lowest first. */
const LAYERS = [
  ['core'],
  ['policy', 'image', 'onnx'],
  ['config', 'metadata', 'repository', 'backend', 'provisioner', 'protocol'],
  ['controller', 'worker', 'profiler', 'sim', 'zoo', 'loadgen'],
  ['transport'],
  ['api'],
  ['frontends'],
  ['bin', 'cli', 'testing'],
];
const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i])));

function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.fixture.ts')) out.push(p);
  }
  return out;
}

const src = resolve('src');
const problems = [];
for (const file of files(src)) {
  const from = relative(src, file).split('/')[0];
  if (!layerOf.has(from)) problems.push(`${relative('.', file)}: folder src/${from} has no layer in scripts/check-layers.mjs`);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = relative(src, resolve(dirname(file), m[1]));
    if (target.startsWith('..')) continue;
    const to = target.split('/')[0];
    if (to === from || !layerOf.has(to)) continue;
    if (layerOf.get(to) > layerOf.get(from)) problems.push(`${relative('.', file)} imports ${m[1]}: src/${from} (layer ${layerOf.get(from)}) may not depend on src/${to} (layer ${layerOf.get(to)})`);
  }
}
if (problems.length) {
  process.stderr.write(`Layer violations (see scripts/check-layers.mjs):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
