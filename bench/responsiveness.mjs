// Does `tureen serve` keep answering while it cooks? A greedy soup of RUNS × ~50 MB ONNX models is cooked
// through the HTTP API (recipes:cook, written to an .onnx) while `app:info` is asked every POLL_MS from
// this process; its latencies (send → answer) are the UI's responsiveness. Prints one JSON document.
//
// Variants, each a fresh `tureen serve` child with a fresh TUREEN_HOME, alternated over ROUNDS:
//   workers   the heavy work on worker threads (default)
//   inThread  TUREEN_WORKERS=0: the same functions on the serving thread
//   previous  (when BASELINE_ROOT names a built checkout of the code before the worker layer) that code
// Goal (issue 16): p99 < 50 ms, max < 100 ms while cooking.
//
// Run: npm run build (renderer + CLI), then node bench/responsiveness.mjs
//   env: RUNS (8), HIDDEN (3072 ≈ 50 MB per model), ROUNDS (1), KITCHEN (reuse a generated kitchen),
//        BASELINE_ROOT (a checkout with out/node and out/renderer built), VARIANTS (e.g. workers),
//        PROFILE_DIR (CPU profiles of the serve processes; read them with bench/tools/long-tasks.mjs)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 8);
const HIDDEN = Number(process.env.HIDDEN ?? 3072);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const POLL_MS = 10;
const TOKEN = 'bench-responsiveness-token';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-bench-resp-'));

const kitchen = process.env.KITCHEN ?? path.join(tmp, 'kitchen');
if (!fs.existsSync(path.join(kitchen, 'data', 'holdout.safetensors'))) {
  execFileSync('/usr/bin/python3', [
    path.join(root, 'bench/make_onnx_kitchen.py'),
    kitchen,
    String(RUNS),
    String(HIDDEN),
  ]);
}
const runs = fs
  .readdirSync(path.join(kitchen, 'sweep'))
  .sort()
  .map((d) => path.join(kitchen, 'sweep', d, 'model.onnx'));
const modelBytes = fs.statSync(runs[0]).size;

function request(port, channel, payload) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(payload);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/${channel}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-tureen-token': TOKEN,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`${channel}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function startServe(variantRoot, env) {
  const home = fs.mkdtempSync(path.join(tmp, 'home-'));
  // PROFILE_DIR: a CPU profile of each serve process (what still runs on the serving thread)
  const profile = process.env.PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROFILE_DIR] : [];
  const child = spawn(
    process.execPath,
    [...profile, path.join(variantRoot, 'bin/tureen.js'), 'serve', '--port', '0', '--token', TOKEN, '--json'],
    {
      env: { ...process.env, TUREEN_HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      try {
        resolve({ child, port: JSON.parse(out).port, stderr: () => err });
      } catch {
        // not the whole document yet
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};
const round1 = (x) => (x === null ? null : Math.round(x * 10) / 10);

async function measure(name, variantRoot, env) {
  const { child, port, stderr } = await startServe(variantRoot, env);
  try {
    await request(port, 'app:info', {}); // warm
    await request(port, 'kitchens:register', { path: kitchen });
    // registering may start a scan: let it finish, the cook is what is measured
    for (;;) {
      const jobs = await request(port, 'jobs:list', {});
      const list = Array.isArray(jobs) ? jobs : (jobs.jobs ?? []);
      if (!list.some((j) => j.state === 'running' || j.state === 'queued')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const latencies = [];
    let cooking = true;
    const poller = (async () => {
      while (cooking) {
        const t0 = performance.now();
        await request(port, 'app:info', {});
        const ms = performance.now() - t0;
        latencies.push(ms);
        await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - ms)));
      }
    })();
    const load = os.loadavg()[0];
    const t0 = performance.now();
    const { jobId } = await request(port, 'recipes:cook', {
      method: 'greedy',
      ingredients: runs,
      holdout: path.join(kitchen, 'data', 'holdout.safetensors'),
      out: path.join(kitchen, 'soups', `${name}-${Date.now()}.onnx`),
      threads: 1,
    });
    let job;
    for (;;) {
      job = await request(port, 'jobs:get', { jobId });
      if (job.state !== 'running' && job.state !== 'queued') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const cookMs = performance.now() - t0;
    cooking = false;
    await poller;
    if (job.state !== 'done')
      throw new Error(`${name}: cook ${job.state}: ${JSON.stringify(job.error)} ${stderr()}`);
    return {
      variant: name,
      cook_s: round1(cookMs / 1000),
      accepted: job.result?.recipe?.ingredients?.length ?? null,
      polls: latencies.length,
      app_info_ms: {
        p50: round1(pct(latencies, 50)),
        p99: round1(pct(latencies, 99)),
        max: round1(Math.max(...latencies)),
      },
      load_average_at_start: round1(load),
      load_average_at_end: round1(os.loadavg()[0]),
    };
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
}

const variants = [
  ['workers', root, {}],
  ['inThread', root, { TUREEN_WORKERS: '0' }],
  ...(process.env.BASELINE_ROOT ? [['previous', path.resolve(process.env.BASELINE_ROOT), {}]] : []),
].filter(([name]) => !process.env.VARIANTS || process.env.VARIANTS.split(',').includes(name));
const results = [];
for (let r = 0; r < ROUNDS; r++)
  for (const [name, where, env] of variants) results.push(await measure(name, where, env));
const workers = results.filter((x) => x.variant === 'workers');
const worst = (key) => Math.max(...workers.map((x) => x.app_info_ms[key]));
console.log(
  JSON.stringify(
    {
      bench: 'responsiveness',
      kitchen: { runs: runs.length, model_mb: Math.round(modelBytes / 1e6), holdout_n: 256 },
      cpus: os.cpus().length,
      poll_ms: POLL_MS,
      goal: { p99_ms: 50, max_ms: 100 },
      meets_goal: worst('p99') < 50 && worst('max') < 100,
      results,
    },
    null,
    2,
  ),
);
if (!process.env.KITCHEN) fs.rmSync(tmp, { recursive: true, force: true });
