// The longest stretches a V8 CPU profile spent without returning to the event loop, with the functions
// that took most of each: what still blocks the serving thread. Run: node bench/tools/long-tasks.mjs x.cpuprofile [N]
import fs from 'node:fs';

const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const top = Number(process.argv[3] ?? 12);
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const isIdle = (id) => nodes.get(id).callFrame.functionName === '(idle)';
const label = (id) => {
  const f = nodes.get(id).callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
};
const stack = (id) => {
  const out = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) out.push(cur);
  return out;
};
const stretches = [];
let current = null;
let t = profile.startTime;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] / 1000;
  t += profile.timeDeltas[i];
  if (isIdle(id)) {
    if (current) stretches.push(current);
    current = null;
    return;
  }
  current ??= { ms: 0, at: (t - profile.startTime) / 1000, self: new Map() };
  current.ms += dt;
  // attribute to our own code's frames (out/node) nearest the leaf, else the leaf
  const s = stack(id);
  const ours = s.find((n) => nodes.get(n).callFrame.url.includes('/out/node/')) ?? id;
  const key = `${label(id)}  <=  ${label(ours)}`;
  current.self.set(key, (current.self.get(key) ?? 0) + dt);
});
if (current) stretches.push(current);
stretches.sort((a, b) => b.ms - a.ms);
for (const s of stretches.slice(0, top)) {
  console.log(`${s.ms.toFixed(0)} ms at ${s.at.toFixed(0)} ms`);
  for (const [k, v] of [...s.self].sort((a, b) => b[1] - a[1]).slice(0, 4))
    console.log(`   ${v.toFixed(0)} ms  ${k}`);
}
