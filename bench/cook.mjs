// `tureen cook uniform` end to end against a 15-line NumPy script doing the same job (read, add, divide,
// write a .safetensors, fsync) and against `cat` reading the same bytes. Prints one JSON document.
//
//   warm  files in the page cache (read once before each timing)
//   cold  files dropped from the page cache before each timing (os.posix_fadvise DONTNEED; the output's
//         folder is on the same disk)
// Tureen runs twice per round: `fresh` (a new TUREEN_HOME: every ingredient is hashed for the recipe, as
// on a first cook) and `cached` (hashes already in the database, keyed by path, size and mtime, as after
// a scan). The NumPy script hashes nothing. Rounds alternate the tools so drift on a shared machine hits
// all of them; medians are reported with the load average seen at each timing.
//
// Run: npx tsc -p tsconfig.cli.json && node bench/cook.mjs
//   env: N (12), MB (192 per checkpoint), ROUNDS (3), DATA (reuse a folder of generated checkpoints),
//        COLD (1: also measure cold), TUREEN_ROOT (another built checkout to time instead of this one)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tureenRoot = path.resolve(process.env.TUREEN_ROOT ?? root);
const N = Number(process.env.N ?? 12);
const MB = Number(process.env.MB ?? 192);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const COLD = process.env.COLD !== '0';
const PYTHON = '/usr/bin/python3';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-bench-cook-'));
const data = process.env.DATA ?? path.join(tmp, 'data');

const GENERATE = `
import json, struct, sys, numpy as np
out, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = 1 << 20  # float32 elements per tensor (4 MiB)
tensors = mb * 1024 * 1024 // (4 * per)
rng = np.random.default_rng(7)
for i in range(n):
    header, off = {}, 0
    for t in range(tensors):
        header[f"layer{t}.weight"] = {"dtype": "F32", "shape": [1024, per // 1024], "data_offsets": [off, off + 4 * per]}
        off += 4 * per
    text = json.dumps(header).encode(); text += b" " * ((8 - (len(text) + 8) % 8) % 8)
    with open(f"{out}/run{i:02d}.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for t in range(tensors):
            f.write(rng.standard_normal(per, dtype=np.float32).tobytes())
`;

// The reference: what a researcher would write with NumPy (the same bytes out as Tureen's float32 mean
// up to rounding order; it does not hash, check NaN/Inf, or write a recipe).
const NUMPY = `
import json, os, struct, sys, numpy as np
out, files = sys.argv[1], sys.argv[2:]
def read(p):
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; header = json.loads(f.read(n)); data = np.frombuffer(f.read(), np.float32)
    return header, n, data
header, n, acc = read(files[0]); acc = acc.copy()
for p in files[1:]: acc += read(p)[2]
acc /= np.float32(len(files))
with open(out, "wb") as f:
    text = json.dumps(header).encode(); text += b" " * ((8 - (len(text) + 8) % 8) % 8)
    f.write(struct.pack("<Q", len(text)) + text); f.write(acc.tobytes()); f.flush(); os.fsync(f.fileno())
`;

const DROP = `
import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
`;

fs.mkdirSync(data, { recursive: true });
const files = Array.from({ length: N }, (_, i) =>
  path.join(data, `run${String(i).padStart(2, '0')}.safetensors`),
);
if (!files.every((f) => fs.existsSync(f)))
  execFileSync(PYTHON, ['-c', GENERATE, data, String(N), String(MB)]);
const totalBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
const outDir = path.join(tmp, 'out');
fs.mkdirSync(outDir);

function run(cmd, args, env = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}: exit ${r.status}: ${r.stderr}`);
  return s;
}
const drop = () => {
  execFileSync(PYTHON, ['-c', DROP, ...files]);
  for (const f of fs.readdirSync(outDir)) fs.rmSync(path.join(outDir, f), { force: true, recursive: true });
};
const cleanOut = () => {
  for (const f of fs.readdirSync(outDir)) fs.rmSync(path.join(outDir, f), { force: true, recursive: true });
};
const cachedHome = fs.mkdtempSync(path.join(tmp, 'home-cached-'));
const tools = {
  cat: () => run('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > /dev/null`]),
  numpy: () => run(PYTHON, ['-c', NUMPY, path.join(outDir, 'numpy.safetensors'), ...files]),
  tureen_fresh: () =>
    run(
      process.execPath,
      [
        path.join(tureenRoot, 'bin/tureen.js'),
        'cook',
        'uniform',
        ...files,
        '--out',
        path.join(outDir, 'soup.safetensors'),
      ],
      {
        TUREEN_HOME: fs.mkdtempSync(path.join(tmp, 'home-')),
      },
    ),
  tureen_cached: () =>
    run(
      process.execPath,
      [
        path.join(tureenRoot, 'bin/tureen.js'),
        'cook',
        'uniform',
        ...files,
        '--out',
        path.join(outDir, 'soup.safetensors'),
      ],
      {
        TUREEN_HOME: cachedHome,
      },
    ),
};
// fill the cached home's hash table once
tools.tureen_cached();
cleanOut();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x) => Math.round(x * 1000) / 1000;
function measure(mode) {
  const times = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  const loads = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = Object.keys(tools);
    if (r % 2) order.reverse();
    for (const name of order) {
      if (mode === 'warm') {
        cleanOut();
        spawnSync('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > /dev/null`]);
      } else drop();
      loads.push(os.loadavg()[0]);
      times[name].push(tools[name]());
    }
  }
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, r2(median(v))]));
  return {
    seconds_median: med,
    seconds_all: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(r2)])),
    ratios: {
      tureen_fresh_vs_numpy: r2(med.tureen_fresh / med.numpy),
      tureen_cached_vs_numpy: r2(med.tureen_cached / med.numpy),
      tureen_fresh_vs_cat: r2(med.tureen_fresh / med.cat),
      tureen_cached_vs_cat: r2(med.tureen_cached / med.cat),
      numpy_vs_cat: r2(med.numpy / med.cat),
    },
    load_average_1min: { min: r2(Math.min(...loads)), max: r2(Math.max(...loads)) },
  };
}

const warmResult = measure('warm');
const coldResult = COLD ? measure('cold') : null;
console.log(
  JSON.stringify(
    {
      bench: 'cook',
      checkpoints: N,
      mb_each: Math.round(totalBytes / N / 1e6),
      total_gb: r2(totalBytes / 1e9),
      cpus: os.cpus().length,
      workers: process.env.TUREEN_WORKERS ?? 'default',
      rounds: ROUNDS,
      goals: { warm_vs_numpy: 1.0, cold_vs_cat: 1.2 },
      warm: warmResult,
      cold: coldResult,
    },
    null,
    2,
  ),
);
if (!process.env.DATA) fs.rmSync(tmp, { recursive: true, force: true });
else fs.rmSync(outDir, { recursive: true, force: true });
