// Streaming evaluation (issue 12): memory on a set larger than memory, and time against the in-memory path.
//
// 1. Large: a synthetic eval set of --gb GiB (default 6; uint8 [N, 3, 224, 224], ImageNet's normalisation in
//    tureen.transform) is written to --dir (default the OS temp dir), then evaluated by a tiny model
//    (GlobalAveragePool, Flatten, Gemm to 10 logits) exactly as `tureen eval` does: readEvalSet in the
//    caller, the inference host forked, Evaluator with a fresh logits cache. Peak RSS (VmHWM) of the host and
//    of the caller are reported. When the disk has less free space than the set plus 1 GiB, the largest set
//    that fits is used and the JSON says so.
// 2. Fits: sets of --fit-mb MiB (default 48 and 512: one whose float32 form the streaming host keeps for
//    the next evaluation, 192 MiB, and one it streams every time, 2 GiB) of the same kind, each evaluated
//    by this build (streaming) and by the previous in-memory build, alternating, --repeats times each: "cold" is readEvalSet + the first evaluation in a
//    fresh host (what one `tureen eval` costs), "warm" a second evaluation of the same set in that host
//    under another model key (what every greedy step costs: the in-memory host reused its float32 copy).
//    The in-memory build is commit --baseline-commit (default 2a592fb, the last commit before streaming),
//    checked out as a git worktree in the temp dir and compiled there once (or --baseline <its out/node>).
//
// Every measurement runs in its own child process, so each peak RSS is that run's alone. Needs
// `npx tsc -p tsconfig.cli.json` first. Prints one JSON document; 1 intra-op thread throughout.
// --model conv adds a convolution in front (inference then costs something, as a real model's does).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..');
const SIDE = 224;
const CHANNELS = 3;
const CLASSES = 10;
const ROW = CHANNELS * SIDE * SIDE;
const BATCH = 64;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

/** One run in a child process: readEvalSet, then one or two evaluations; prints JSON. */
async function child(spec) {
  const load = (p) => import(path.join(spec.out, p));
  const { readEvalSet } = await load('core/datasets/evalset.js');
  const { InferenceHost } = await load('core/inference/host.js');
  const { forkSpawner } = await load('core/inference/spawner.js');
  const { Evaluator } = await load('core/inference/evaluator.js');
  const { LogitsCache } = await load('core/inference/logits-cache.js');
  const host = new InferenceHost(forkSpawner(path.join(spec.out, 'core/inference/host-process.js')));
  const evaluator = new Evaluator(host, new LogitsCache(spec.cache));
  const options = { provider: 'cpu', threads: 1, batchSize: BATCH };
  const model = (key) => ({
    hash: key,
    label: 'tiny',
    path: spec.model,
    source: () => ({ kind: 'file', path: spec.model }),
  });
  try {
    await host.ortVersion();
    const t0 = performance.now();
    const set = readEvalSet(spec.file);
    const read = performance.now() - t0;
    const first = await evaluator.evaluate(model(`tiny:${spec.tag}:1`), set, options);
    const cold = performance.now() - t0;
    let warm = null;
    if (spec.warm) {
      const t1 = performance.now();
      const second = await evaluator.evaluate(model(`tiny:${spec.tag}:2`), set, options);
      warm = performance.now() - t1;
      if (second.metrics.correct !== first.metrics.correct) throw new Error('two evaluations disagree');
    }
    const status = fs.readFileSync(`/proc/${host.pid}/status`, 'utf8');
    const hostPeak = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024;
    const callerPeak = process.resourceUsage().maxRSS * 1024;
    const logits = Buffer.from(
      first.logits.data.buffer,
      first.logits.data.byteOffset,
      first.logits.data.byteLength,
    );
    process.stdout.write(
      JSON.stringify({
        n: set.n,
        hash: set.hash,
        correct: first.metrics.correct,
        logitsSha: (await import('node:crypto')).createHash('sha256').update(logits).digest('hex'),
        readSeconds: read / 1000,
        coldSeconds: cold / 1000,
        warmSeconds: warm === null ? null : warm / 1000,
        hostPeakRssMiB: hostPeak / MiB,
        callerPeakRssMiB: callerPeak / MiB,
      }),
    );
  } finally {
    host.close();
  }
}

function runChild(spec) {
  const result = spawnSync(process.execPath, [here, '--child', JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 16 * MiB,
  });
  if (result.status !== 0) throw new Error(`child failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/**
 * The tiny classifier as ONNX (onnx-buf, the protobuf classes Tureen itself uses). `conv` puts a 3x3
 * convolution to 16 channels and a ReLU in front, so inference costs something (21.7M multiply-adds per
 * image, still 200 times less than a ResNet-50), as a real model's does.
 */
async function writeModel(file, conv) {
  const { create, toBinary } = await import('@bufbuild/protobuf');
  const { ModelProtoSchema } = await import('onnx-buf');
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const features = conv ? 16 : CHANNELS;
  const weights = Float32Array.from({ length: features * CLASSES }, random);
  const kernel = Float32Array.from({ length: 16 * CHANNELS * 9 }, () => random() * 0.2);
  const bias = Float32Array.from({ length: CLASSES }, random);
  const dims = (list) =>
    list.map((d) => ({
      value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: BigInt(d) },
    }));
  const type = (list) => ({
    value: { case: 'tensorType', value: { elemType: 1, shape: { dim: dims(list) } } },
  });
  const init = (name, values, shape) => ({
    name,
    dataType: 1,
    dims: shape.map(BigInt),
    rawData: new Uint8Array(values.buffer),
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'tureen-bench',
    opsetImport: [{ domain: '', version: 13n }],
    graph: {
      name: 'tiny',
      node: [
        ...(conv
          ? [
              {
                opType: 'Conv',
                input: ['image', 'K'],
                output: ['conv'],
                attribute: [
                  { name: 'kernel_shape', type: 7, ints: [3n, 3n] },
                  { name: 'strides', type: 7, ints: [1n, 1n] },
                  { name: 'pads', type: 7, ints: [1n, 1n, 1n, 1n] },
                ],
              },
              { opType: 'Relu', input: ['conv'], output: ['features'] },
            ]
          : []),
        { opType: 'GlobalAveragePool', input: [conv ? 'features' : 'image'], output: ['pooled'] },
        { opType: 'Flatten', input: ['pooled'], output: ['flat'] },
        { opType: 'Gemm', input: ['flat', 'W', 'B'], output: ['logits'] },
      ],
      initializer: [
        init('W', weights, [features, CLASSES]),
        init('B', bias, [CLASSES]),
        ...(conv ? [init('K', kernel, [16, CHANNELS, 3, 3])] : []),
      ],
      input: [{ name: 'image', type: type(['N', CHANNELS, SIDE, SIDE]) }],
      output: [{ name: 'logits', type: type(['N', CLASSES]) }],
    },
  });
  fs.writeFileSync(file, toBinary(ModelProtoSchema, model));
}

/** A uint8 eval set of n images written in 64 MiB pieces (never held whole), labels as int64. */
function writeSet(file, n) {
  const transform = {
    image: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channel_axis: 1 },
  };
  const pixels = n * ROW;
  const header = {
    __metadata__: {
      'tureen.name': path.basename(file, '.safetensors'),
      'tureen.transform': JSON.stringify(transform),
    },
    image: { dtype: 'U8', shape: [n, CHANNELS, SIDE, SIDE], data_offsets: [0, pixels] },
    labels: { dtype: 'I64', shape: [n], data_offsets: [pixels, pixels + n * 8] },
  };
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const fd = fs.openSync(file, 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, length);
    fs.writeSync(fd, json);
    // 64 MiB of seeded noise, each piece shifted by one byte so pieces differ
    const piece = Buffer.alloc(64 * MiB + 256);
    let seed = 1;
    for (let i = 0; i < piece.length; i++) piece[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 23;
    for (let done = 0, k = 0; done < pixels; k++) {
      const size = Math.min(64 * MiB, pixels - done);
      fs.writeSync(fd, piece, k % 256, size);
      done += size;
    }
    const labels = new BigInt64Array(n);
    for (let i = 0; i < n; i++) labels[i] = BigInt((i * 7) % CLASSES);
    fs.writeSync(fd, new Uint8Array(labels.buffer));
  } finally {
    fs.closeSync(fd);
  }
}

/** The previous (in-memory) build: a worktree of that commit, compiled with this checkout's node_modules. */
function baselineBuild(tmp) {
  const given = arg('baseline');
  if (given) return path.resolve(given);
  const commit = arg('baseline-commit', '2a592fb');
  const dir = path.join(tmp, `tureen-baseline-${commit}`);
  const out = path.join(dir, 'out/node');
  if (!fs.existsSync(path.join(out, 'core/inference/host-process.js'))) {
    if (!fs.existsSync(dir))
      execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, commit], { stdio: 'pipe' });
    if (!fs.existsSync(path.join(dir, 'node_modules')))
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    try {
      execFileSync(
        process.execPath,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.cli.json'],
        { cwd: dir, stdio: 'pipe' },
      );
    } catch {
      // type errors elsewhere still emit; the check below decides
    }
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));

async function main() {
  const dir = path.resolve(arg('dir', os.tmpdir()));
  const wantGiB = Number(arg('gb', '6'));
  const fitSizes = arg('fit-mb', '48,512')
    .split(',')
    .map(Number)
    .filter((x) => x > 0);
  const repeats = Number(arg('repeats', '3'));
  const modelKind = arg('model', 'tiny');
  const work = fs.mkdtempSync(path.join(dir, 'tureen-bench-stream-'));
  const current = path.join(root, 'out/node');
  const result = {
    machine: { cores: os.availableParallelism(), loadAverageBefore: load() },
    model: modelKind,
    batchSize: BATCH,
    threads: 1,
  };
  try {
    const model = path.join(work, 'tiny.onnx');
    await writeModel(model, modelKind === 'conv');

    // 2. fits: streaming against the in-memory build, alternating, for each size
    let baseline = null;
    try {
      if (fitSizes.length) baseline = baselineBuild(os.tmpdir());
      if (baseline && !fs.existsSync(path.join(baseline, 'core/inference/host-process.js')))
        throw new Error(`${baseline} has no built inference host`);
    } catch (error) {
      // a shallow clone lacks the baseline commit: the large run still says what it can
      result.baselineError = String(error.message ?? error).split('\n')[0];
      baseline = null;
    }
    result.fits = [];
    for (const fitMiB of baseline ? fitSizes : []) {
      const fitN = Math.floor((fitMiB * MiB) / ROW);
      const fitFile = path.join(work, 'fits.safetensors');
      writeSet(fitFile, fitN);
      const runs = { streaming: [], inMemory: [] };
      for (let r = 0; r < repeats; r++) {
        for (const [mode, out] of r % 2
          ? [
              ['inMemory', baseline],
              ['streaming', current],
            ]
          : [
              ['streaming', current],
              ['inMemory', baseline],
            ]) {
          const cache = path.join(work, `cache-${mode}-${r}`);
          runs[mode].push(runChild({ out, file: fitFile, model, cache, tag: `${mode}-${r}`, warm: true }));
          fs.rmSync(cache, { recursive: true, force: true });
        }
      }
      const pick = (mode, key) => runs[mode].map((x) => x[key]);
      const same = runs.streaming.every((s) =>
        runs.inMemory.every((m) => m.logitsSha === s.logitsSha && m.hash === s.hash),
      );
      result.fits.push({
        bytes: fs.statSync(fitFile).size,
        float32Bytes: fitN * ROW * 4,
        // the streaming host keeps a set's float32 form for the next evaluation up to 256 MiB
        keptByHost: fitN * ROW * 4 <= 256 * MiB,
        n: fitN,
        identicalLogitsAndHash: same,
        coldSeconds: {
          streaming: pick('streaming', 'coldSeconds'),
          inMemory: pick('inMemory', 'coldSeconds'),
        },
        warmSeconds: {
          streaming: pick('streaming', 'warmSeconds'),
          inMemory: pick('inMemory', 'warmSeconds'),
        },
        hostPeakRssMiB: {
          streaming: median(pick('streaming', 'hostPeakRssMiB')),
          inMemory: median(pick('inMemory', 'hostPeakRssMiB')),
        },
        callerPeakRssMiB: {
          streaming: median(pick('streaming', 'callerPeakRssMiB')),
          inMemory: median(pick('inMemory', 'callerPeakRssMiB')),
        },
        ratioCold: median(pick('streaming', 'coldSeconds')) / median(pick('inMemory', 'coldSeconds')),
        ratioWarm: median(pick('streaming', 'warmSeconds')) / median(pick('inMemory', 'warmSeconds')),
      });
      fs.rmSync(fitFile, { force: true });
    }

    // 1. large: as big as asked, or as big as the disk allows (--gb 0 leaves it out)
    if (wantGiB > 0) result.large = large(work, wantGiB, current, model);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  result.machine.loadAverageAfter = load();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function large(work, wantGiB, current, model) {
  const free = fs.statfsSync(work).bavail * fs.statfsSync(work).bsize;
  const wanted = wantGiB * GiB;
  const bytes = Math.min(wanted, free - GiB);
  const n = Math.floor(bytes / ROW);
  const file = path.join(work, 'large.safetensors');
  const t0 = performance.now();
  writeSet(file, n);
  const writeSeconds = (performance.now() - t0) / 1000;
  const run = runChild({
    out: current,
    file,
    model,
    cache: path.join(work, 'cache-large'),
    tag: 'large',
    warm: false,
  });
  return {
    bytes: fs.statSync(file).size,
    n,
    requestedGiB: wantGiB,
    shrunkToFitDisk: bytes < wanted,
    diskFreeBytes: free,
    writeSeconds,
    seconds: run.coldSeconds,
    readEvalSetSeconds: run.readSeconds,
    hostPeakRssMiB: run.hostPeakRssMiB,
    callerPeakRssMiB: run.callerPeakRssMiB,
    underOneGiB: run.hostPeakRssMiB < 1024 && run.callerPeakRssMiB < 1024,
    correct: run.correct,
  };
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await main();
