// Merge methods over N ingredients: time relative to the uniform soup of the same files, and peak memory
// at N = 12 against N = 2 (the slice pass should keep memory at one model plus slices whatever N).
// Run: npx tsc -p tsconfig.cli.json && node bench/methods.mjs [--mb 192] [--sizes 2,12] [--methods ...]
// Prints one JSON document. Each (method, N) runs in its own process so its peak RSS is its own; files are
// read once beforehand so every run reads from the page cache.
//   seconds          median wall time of the merge (open, slice pass, result in memory; nothing written)
//   vsUniform        seconds / the uniform soup's seconds on the same N files (averageIngredients)
//   peakRssMB        the child's peak resident set
//   rssRatio12vs2    peakRssMB at the largest N / at the smallest N (target: within 1.2)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'out', 'node', 'core');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const MB = Number(arg('mb', '192'));
const SIZES = arg('sizes', '2,12').split(',').map(Number);
const METHODS = arg('methods', 'uniform,task-arithmetic,ties,dare,model-stock,slerp').split(',');
const REPEATS = Number(arg('repeats', '3'));
const ELEMENTS = 1 << 22; // 16 MiB float32 tensors
const TENSORS = Math.max(1, Math.round((MB * 1e6) / (ELEMENTS * 4)));

/** A float32 safetensors checkpoint: base values plus a small per-run delta (task vectors ~ 0.01). */
function writeCheckpoint(file, seed, spread) {
  const header = {};
  let offset = 0;
  for (let t = 0; t < TENSORS; t++) {
    header[`layer${t}.weight`] = {
      dtype: 'F32',
      shape: [ELEMENTS],
      data_offsets: [offset, offset + ELEMENTS * 4],
    };
    offset += ELEMENTS * 4;
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8) json += ' ';
  const fd = fs.openSync(file, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, len);
  fs.writeSync(fd, json);
  const data = new Float32Array(ELEMENTS);
  let base = 12345;
  let s = seed;
  for (let t = 0; t < TENSORS; t++) {
    for (let i = 0; i < ELEMENTS; i++) {
      base = (base * 1664525 + 1013904223) >>> 0;
      s = (s * 22695477 + 1) >>> 0;
      data[i] = (base / 2 ** 32 - 0.5) * 0.2 + (s / 2 ** 32 - 0.5) * spread;
    }
    fs.writeSync(fd, new Uint8Array(data.buffer));
  }
  fs.closeSync(fd);
}

const PARAMS = {
  'task-arithmetic': { lambda: 0.8 },
  ties: { density: 0.2 },
  dare: { drop: 0.9, seed: 1 },
  'model-stock': {},
  slerp: { t: 0.5 },
};

async function child(method, n, dir) {
  const { openIngredient, groupFamilies, weightLayout } = await import(
    path.join(out, 'checkpoints', 'index.js')
  );
  const { averageIngredients } = await import(path.join(out, 'checkpoints', 'soup.js'));
  const { mergeWeights } = await import(path.join(out, 'recipes', 'merge.js'));
  const { mergeMethod } = await import(path.join(out, 'recipes', 'methods', 'index.js'));
  const files = Array.from({ length: n }, (_, i) => path.join(dir, `run${i}.safetensors`));
  const baseFile = path.join(dir, 'base.safetensors');
  for (const f of [...files, baseFile]) fs.readFileSync(f); // page cache
  const seconds = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    const models = files.map((f) => openIngredient(f));
    if (method === 'uniform') {
      const { families } = await groupFamilies(models, { hashOf: () => null });
      await averageIngredients(
        families[0],
        families[0].members.map((ingredient) => ({ ingredient, coefficient: 1 / n })),
      );
    } else {
      const base = openIngredient(baseFile);
      const layout = weightLayout(base.tensors);
      await mergeWeights(
        mergeMethod(method),
        PARAMS[method],
        { base, models: method === 'slerp' ? models.slice(0, 2) : models },
        layout,
      );
    }
    seconds.push((performance.now() - t) / 1000);
    globalThis.gc?.();
  }
  return {
    method,
    n,
    seconds: [...seconds].sort((a, b) => a - b)[seconds.length >> 1],
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv[2] === '--child') {
  process.stdout.write(
    JSON.stringify(await child(process.argv[3], Number(process.argv[4]), process.argv[5])),
  );
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-bench-methods-'));
  try {
    writeCheckpoint(path.join(dir, 'base.safetensors'), 7, 0);
    for (let i = 0; i < Math.max(...SIZES); i++)
      writeCheckpoint(path.join(dir, `run${i}.safetensors`), i + 1, 0.02);
    const runs = [];
    for (const method of METHODS) {
      for (const n of method === 'slerp' ? [2] : SIZES) {
        const run = spawnSync(
          process.execPath,
          ['--expose-gc', fileURLToPath(import.meta.url), '--child', method, String(n), dir],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        if (run.status !== 0) throw new Error(`${method} N=${n} failed (exit ${run.status})`);
        runs.push(JSON.parse(run.stdout));
      }
    }
    const uniform = (n) => runs.find((r) => r.method === 'uniform' && r.n === n)?.seconds ?? null;
    const methods = {};
    for (const method of METHODS) {
      const mine = runs.filter((r) => r.method === method);
      const byN = Object.fromEntries(
        mine.map((r) => [
          r.n,
          {
            seconds: r.seconds,
            vsUniform: uniform(r.n) ? r.seconds / uniform(r.n) : null,
            peakRssMB: r.peakRssMB,
          },
        ]),
      );
      const small = mine.find((r) => r.n === Math.min(...SIZES));
      const large = mine.find((r) => r.n === Math.max(...SIZES));
      methods[method] = {
        byN,
        rssRatio12vs2: small && large && large !== small ? large.peakRssMB / small.peakRssMB : null,
      };
    }
    process.stdout.write(
      JSON.stringify(
        {
          schema: 'tureen/bench-methods@1',
          checkpointMB: (TENSORS * ELEMENTS * 4) / 1e6,
          tensors: TENSORS,
          sizes: SIZES,
          repeats: REPEATS,
          cpus: os.cpus().length,
          methods,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
