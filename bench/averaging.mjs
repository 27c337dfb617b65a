// Averaging throughput vs reading the same bytes from the page cache, and peak memory per N.
// Run: npx tsc -p tsconfig.cli.json && node bench/averaging.mjs   (or npm run bench -- averaging)
// Prints one JSON document. Each N runs in its own process so its peak RSS is its own.
//   readGBps          sequential 4 MiB reads of the files from the page cache (one core copying)
//   parallelReadGBps  the same with three reads in flight (both cores copying: the machine's ceiling)
//   streamGBps        adding the N checkpoints into an accumulator already in memory
//   averageGBps       everything: open, group, allocate the accumulator, add
//   ratio / ratioVsParallelRead / endToEndRatio   medians of back-to-back pairs (read time / averaging time)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const engine = path.join(here, '..', 'out', 'node', 'core', 'checkpoints', 'index.js');
const SIZES = [2, 4, 12];
const TENSORS = 25;
const ELEMENTS = 1 << 20; // 25 × 4 MiB float32 tensors ≈ 105 MB per checkpoint
const REPEATS = 7;

function writeCheckpoint(file, seed) {
  const header = {};
  let offset = 0;
  for (let t = 0; t < TENSORS; t++) {
    header[`layer${t}.weight`] = {
      dtype: 'F32',
      shape: [1024, ELEMENTS / 1024],
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
  let s = seed;
  for (let t = 0; t < TENSORS; t++) {
    for (let i = 0; i < ELEMENTS; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      data[i] = s / 2 ** 32 - 0.5;
    }
    fs.writeSync(fd, new Uint8Array(data.buffer));
  }
  fs.closeSync(fd);
}

/** Read whole files sequentially in 4 MiB chunks into one reused buffer: the page-cache read speed. */
function readSequential(files) {
  const buf = Buffer.allocUnsafeSlow(4 * 1024 * 1024);
  let total = 0;
  for (const file of files) {
    const fd = fs.openSync(file, 'r');
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) total += n;
    fs.closeSync(fd);
  }
  return total;
}

/** The same bytes with three reads in flight (both cores copying): the most the machine can read. */
async function readAll(files) {
  const chunk = 4 * 1024 * 1024;
  const buffers = [
    Buffer.allocUnsafeSlow(chunk),
    Buffer.allocUnsafeSlow(chunk),
    Buffer.allocUnsafeSlow(chunk),
  ];
  let total = 0;
  for (const file of files) {
    const handle = await fs.promises.open(file, 'r');
    const size = (await handle.stat()).size;
    const positions = [];
    for (let p = 0; p < size; p += chunk) positions.push(p);
    for (let i = 0; i < positions.length; i += buffers.length) {
      const batch = positions.slice(i, i + buffers.length);
      const results = await Promise.all(
        batch.map((p, k) => handle.read(buffers[k], 0, Math.min(chunk, size - p), p)),
      );
      for (const r of results) total += r.bytesRead;
    }
    await handle.close();
  }
  return total;
}

async function child(n, dir) {
  const { openIngredient, groupFamilies, averageIngredients, WeightAccumulator, weightLayout } = await import(
    engine
  );
  const files = Array.from({ length: n }, (_, i) => path.join(dir, `run${i}`, 'model.safetensors'));
  await readAll(files); // warm the page cache
  const reads = [];
  const parallelReads = [];
  const averages = [];
  const streams = [];
  let bytes = 0;
  // The accumulator's first touch costs page faults whatever the implementation (on this VM ~200 MB/s);
  // `stream` measures adding into an accumulator already in memory (what a greedy soup's running sum sees),
  // `average` measures everything: open, group, allocate, add.
  const opened = files.map((f) => openIngredient(f));
  const warm = new WeightAccumulator(weightLayout(opened[0].tensors));
  warm.values.fill(0);
  for (let r = 0; r < REPEATS; r++) {
    warm.reset();
    let t = performance.now();
    await warm.addScaledMany(opened.map((ingredient) => ({ ingredient, coefficient: 1 / n })));
    streams.push((performance.now() - t) / 1000);
    t = performance.now();
    bytes = readSequential(files);
    reads.push((performance.now() - t) / 1000);
    t = performance.now();
    if ((await readAll(files)) !== bytes) throw new Error('parallel read size differs');
    parallelReads.push((performance.now() - t) / 1000);
    t = performance.now();
    const ingredients = files.map((f) => openIngredient(f));
    const { families } = await groupFamilies(ingredients, { hashOf: () => null });
    const parts = families[0].members.map((ingredient) => ({ ingredient, coefficient: 1 / n }));
    const { weights } = await averageIngredients(families[0], parts);
    averages.push((performance.now() - t) / 1000);
    if (weights.values.length !== TENSORS * ELEMENTS) throw new Error('wrong accumulator size');
    globalThis.gc?.();
  }
  // medians, and ratios of back-to-back pairs: the machine may be shared, so a read and the averaging
  // measured right after it see the same load
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const readSeconds = median(reads);
  const averageSeconds = median(averages);
  const streamSeconds = median(streams);
  const pairedRatio = median(reads.map((r, i) => r / streams[i]));
  const pairedParallel = median(parallelReads.map((r, i) => r / streams[i]));
  const parallelReadSeconds = median(parallelReads);
  const pairedEndToEnd = median(reads.map((r, i) => r / averages[i]));
  return {
    n,
    bytes,
    readSeconds,
    streamSeconds,
    averageSeconds,
    readGBps: bytes / readSeconds / 1e9,
    parallelReadGBps: bytes / parallelReadSeconds / 1e9,
    streamGBps: bytes / streamSeconds / 1e9,
    averageGBps: bytes / averageSeconds / 1e9,
    ratio: pairedRatio,
    ratioVsParallelRead: pairedParallel,
    endToEndRatio: pairedEndToEnd,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv[2] === '--child') {
  const result = await child(Number(process.argv[3]), process.argv[4]);
  process.stdout.write(JSON.stringify(result));
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-bench-averaging-'));
  try {
    const max = Math.max(...SIZES);
    for (let i = 0; i < max; i++) {
      fs.mkdirSync(path.join(dir, `run${i}`));
      writeCheckpoint(path.join(dir, `run${i}`, 'model.safetensors'), i + 1);
    }
    const results = SIZES.map((n) => {
      const run = spawnSync(
        process.execPath,
        ['--expose-gc', fileURLToPath(import.meta.url), '--child', String(n), dir],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      if (run.status !== 0) throw new Error(`N=${n} failed (exit ${run.status})`);
      return JSON.parse(run.stdout);
    });
    const byN = Object.fromEntries(results.map((r) => [r.n, r]));
    const checkpointMB = (TENSORS * ELEMENTS * 4) / 1e6;
    process.stdout.write(
      JSON.stringify(
        {
          schema: 'tureen/bench-averaging@1',
          checkpointMB,
          cpus: os.cpus().length,
          results,
          minRatio: Math.min(...results.map((r) => r.ratio)),
          minEndToEndRatio: Math.min(...results.map((r) => r.endToEndRatio)),
          memoryRatio12to2: byN[12].peakRssMB / byN[2].peakRssMB,
          targets: { ratio: 0.8, memoryRatio12to2: 1.1 },
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
