// Seeded mutation fuzz of the whole path: damaged checkpoints and eval sets through `tureen scan`,
// `tureen cook uniform` and `tureen eval`, each beside good files, run in-process on the built CLI.
// Run: npm run build:cli && node scripts/fuzz/cli-fuzz.mjs [--cases 200] [--seed 1] [--only CASE]
// Prints one JSON document: per command, tried / held / failed, and every failure with its case.
//   held:   exit 0 (the good files done, the damaged one read or reported), or exit 1 with one line naming
//           the damaged file; never an 'internal' error, a stack trace, a hang or an exception
//   failed: anything else (the case is listed so it can be replayed with the same seed)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { runCli } = await import(path.join(root, 'out', 'node', 'cli', 'main.js'));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CASES = Number(arg('cases', '200'));
const SEED = Number(arg('seed', '1'));
/** replay one case of a seed (the generator is drawn for every earlier case, so the damage is the same) */
const ONLY = arg('only', null);
const TIMEOUT_MS = 60_000;

/** mulberry32: a small seeded generator, so a failing case replays */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const demo = path.join(root, 'resources', 'demo-soup');
const st = path.join(demo, 'sweep-safetensors');
const stRuns = fs.readdirSync(st).filter((d) => fs.statSync(path.join(st, d)).isDirectory());
const onnxRuns = fs.readdirSync(path.join(demo, 'sweep')).slice(0, 2);
const goodFiles = [
  ...stRuns.map((d) => ({
    kind: 'safetensors',
    src: path.join(st, d, 'model.safetensors'),
    rel: `${d}.safetensors`,
  })),
];
const onnxFiles = onnxRuns.map((d) => ({
  kind: 'onnx',
  src: path.join(demo, 'sweep', d, 'model.onnx'),
  rel: `${d}.onnx`,
}));
const evalSet = path.join(demo, 'data', 'holdout.safetensors');

const MUTATIONS = ['truncate', 'flip', 'header-length', 'zero-run', 'append', 'empty', 'header-json'];

function mutate(bytes, kind, r) {
  const b = Buffer.from(bytes);
  const at = (n) => Math.floor(r() * n);
  switch (kind) {
    case 'truncate':
      return b.subarray(0, at(b.length));
    case 'flip': {
      const n = 1 + at(16);
      for (let i = 0; i < n; i++) b[at(b.length)] ^= 1 << at(8);
      return b;
    }
    case 'header-length': {
      // safetensors: the 8-byte header length; ONNX: the first bytes of the protobuf
      const delta = [-1, 1, -8, 8, 2 ** 20, -(2 ** 20)][at(6)];
      const v = b.readBigUInt64LE(0) + BigInt(delta);
      b.writeBigUInt64LE(v < 0n ? 0n : v, 0);
      return b;
    }
    case 'zero-run': {
      const start = at(b.length);
      b.fill(0, start, Math.min(b.length, start + 1 + at(4096)));
      return b;
    }
    case 'append':
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + at(64) }, () => at(256)))]);
    case 'empty':
      return Buffer.alloc(0);
    case 'header-json': {
      // change one character inside the first 2 KiB (the safetensors JSON header, the ONNX graph's start)
      const i = 8 + at(Math.min(2048, b.length - 8));
      b[i] = '{}[]":,0123456789-eE.'.charCodeAt(at(21));
      return b;
    }
  }
  throw new Error(kind);
}

async function run(argv) {
  let stdout = '';
  let stderr = '';
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ code: 'timeout' }), TIMEOUT_MS);
  });
  try {
    const done = runCli(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTTY: false,
    }).then(
      (code) => ({ code }),
      (error) => ({ code: 'exception', error: String(error?.stack ?? error) }),
    );
    const res = await Promise.race([done, timeout]);
    return { ...res, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function judge(res, damagedName) {
  if (res.code === 'timeout') return 'hang';
  if (res.code === 'exception') return `exception: ${res.error.split('\n')[0]}`;
  if (/\n\s+at .+:\d+:\d+\)?/.test(res.stderr)) return 'stack trace';
  let doc;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    return `not one JSON document (exit ${res.code})`;
  }
  if (res.code === 0) return null;
  if (res.code !== 1) return `exit ${res.code}`;
  const error = doc?.error;
  if (!error) return 'exit 1 without an error document';
  if (error.code === 'internal') return `internal: ${error.message}`;
  if (damagedName && !String(error.message).includes(damagedName))
    return `error does not name the file: ${error.message}`;
  return null;
}

const r = rng(SEED);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-cli-fuzz-'));
const db = path.join(work, 'fuzz.sqlite');
const tally = {};
const failures = [];
const count = (command, res, damagedName, info) => {
  const verdict = judge(res, damagedName);
  tally[command] ??= { tried: 0, held: 0, failed: 0, outcomes: {} };
  tally[command].tried++;
  let outcome = `exit ${res.code}`;
  try {
    const error = JSON.parse(res.stdout)?.error;
    if (error) outcome += ` ${error.code}`;
  } catch {
    // judged below
  }
  tally[command].outcomes[outcome] = (tally[command].outcomes[outcome] ?? 0) + 1;
  if (verdict === null) tally[command].held++;
  else {
    tally[command].failed++;
    failures.push({ command, verdict, ...info });
  }
};
const started = Date.now();
for (let c = 0; c < CASES; c++) {
  const folder = path.join(work, `case-${c}`);
  fs.mkdirSync(folder);
  // a family of safetensors state dicts with their graph, and two ONNX runs beside them
  fs.copyFileSync(path.join(st, 'graph.onnx'), path.join(folder, 'graph.onnx'));
  for (const g of [...goodFiles, ...onnxFiles]) fs.copyFileSync(g.src, path.join(folder, g.rel));
  const targets = [...goodFiles, ...onnxFiles, { kind: 'evalset', src: evalSet, rel: 'holdout.safetensors' }];
  const target = targets[Math.floor(r() * targets.length)];
  const mutation = MUTATIONS[Math.floor(r() * MUTATIONS.length)];
  const damagedName = `damaged-${target.rel}`;
  const damaged = path.join(folder, damagedName);
  fs.writeFileSync(damaged, mutate(fs.readFileSync(target.src), mutation, r));
  const info = { case: c, seed: SEED, target: target.kind, mutation };
  if (ONLY !== null && Number(ONLY) !== c) {
    fs.rmSync(folder, { recursive: true, force: true });
    continue;
  }
  if (target.kind === 'evalset') {
    const good = path.join(folder, goodFiles[0].rel);
    count('eval', await run(['eval', good, '--data', damaged, '--json', '--db', db]), damagedName, info);
  } else {
    count('scan', await run(['scan', folder, '--json', '--db', db]), null, info);
    const family =
      target.kind === 'onnx'
        ? onnxFiles.map((g) => path.join(folder, g.rel))
        : goodFiles.map((g) => path.join(folder, g.rel));
    const out = path.join(folder, `soup.${target.kind === 'onnx' ? 'onnx' : 'safetensors'}`);
    // a damaged file given by name refuses the cook naming it; in a folder it is skipped
    count(
      'cook',
      await run(['cook', 'uniform', ...family, damaged, '--out', out, '--json', '--db', db]),
      damagedName,
      info,
    );
    count('eval', await run(['eval', damaged, '--data', evalSet, '--json', '--db', db]), damagedName, info);
  }
  fs.rmSync(folder, { recursive: true, force: true });
}
fs.rmSync(work, { recursive: true, force: true });
console.log(
  JSON.stringify(
    { cases: CASES, seed: SEED, seconds: (Date.now() - started) / 1000, tally, failures },
    null,
    2,
  ),
);
process.exit(0);
