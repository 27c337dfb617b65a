// Models over 2 GB: two ~3 GB ONNX models with external data (an MLP of three float32 [S, S] matrices)
// are cooked into a uniform soup (`tureen cook uniform`, .onnx with external data) and the soup is
// evaluated on a small held-out set (`tureen eval`). Prints one JSON document with wall times and the peak
// resident memory of each command's whole process tree (tureen and its inference host), sampled every
// 100 ms from /proc (Linux).
//
// Not part of npm run bench by default: it writes about 9 GB. Run: BIG=1 node bench/big-model.mjs
//   env: SIZE (16384: 1 GiB per matrix), DIR (reuse generated models)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!process.env.BIG) {
  console.log(JSON.stringify({ bench: 'big-model', skipped: 'set BIG=1 (writes about 9 GB)' }));
  process.exit(0);
}
const SIZE = Number(process.env.SIZE ?? 16384);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-bench-big-'));
const dir = process.env.DIR ?? path.join(tmp, 'models');

const GENERATE = `
import json, os, struct, sys
import numpy as np
import onnx
from onnx import TensorProto, helper
out, S = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(3)
for run in ("a", "b"):
    d = f"{out}/{run}"; os.makedirs(d, exist_ok=True)
    inits, offset = [], 0
    with open(f"{d}/model.onnx.data", "wb") as f:
        for k in range(3):
            t = TensorProto(); t.name = f"w{k}"; t.data_type = TensorProto.FLOAT; t.dims.extend([S, S])
            t.data_location = TensorProto.EXTERNAL
            for key, value in (("location", "model.onnx.data"), ("offset", str(offset)), ("length", str(4 * S * S))):
                e = t.external_data.add(); e.key = key; e.value = value
            rows = 1024
            for r in range(0, S, rows):
                block = (rng.standard_normal((rows, S), dtype=np.float32) / np.float32(np.sqrt(S)))
                f.write(block.tobytes())
            offset += 4 * S * S
            inits.append(t)
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h0"]), helper.make_node("Relu", ["h0"], ["r0"]),
             helper.make_node("MatMul", ["r0", "w1"], ["h1"]), helper.make_node("Relu", ["h1"], ["r1"]),
             helper.make_node("MatMul", ["r1", "w2"], ["h2"]), helper.make_node("Slice", ["h2", "starts", "ends", "axes"], ["logits"])]
    consts = [helper.make_tensor("starts", TensorProto.INT64, [1], [0]), helper.make_tensor("ends", TensorProto.INT64, [1], [10]),
              helper.make_tensor("axes", TensorProto.INT64, [1], [1])]
    graph = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", S])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 10])], inits + consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    with open(f"{d}/model.onnx", "wb") as f:
        f.write(model.SerializeToString())
N = 16
x = rng.standard_normal((N, S)).astype(np.float32)
labels = rng.integers(0, 10, N).astype(np.int64)
header = {"__metadata__": {"tureen.name": "holdout", "tureen.role": "holdout"},
          "x": {"dtype": "F32", "shape": [N, S], "data_offsets": [0, x.nbytes]},
          "labels": {"dtype": "I64", "shape": [N], "data_offsets": [x.nbytes, x.nbytes + labels.nbytes]}}
text = json.dumps(header).encode(); text += b" " * ((8 - (len(text) + 8) % 8) % 8)
with open(f"{out}/holdout.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + x.tobytes() + labels.tobytes())
`;

if (!fs.existsSync(path.join(dir, 'holdout.safetensors'))) {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', ['-c', GENERATE, dir, String(SIZE)], { stdio: 'inherit' });
}
const models = ['a', 'b'].map((r) => path.join(dir, r, 'model.onnx'));
const modelBytes = fs.statSync(`${models[0]}.data`).size + fs.statSync(models[0]).size;
const home = fs.mkdtempSync(path.join(tmp, 'home-'));
const soup = path.join(tmp, 'soup', 'soup.onnx');

/** Resident set (kB) of a process and all its descendants, from /proc. */
function treeRssKb(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone
    }
  }
  let total = 0;
  const visit = (p) => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      total += m ? Number(m[1]) : 0;
    } catch {
      // gone
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return total;
}

/** Run tureen; peak RSS of its whole process tree (it and the inference host), sampled every 100 ms. */
async function timed(args) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'bin/tureen.js'), ...args], {
    env: { ...process.env, TUREEN_HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  let peakKb = 0;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, treeRssKb(child.pid))), 100);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  const seconds = Math.round(((performance.now() - t0) / 1000) * 100) / 100;
  if (code !== 0) return { ok: false, seconds, error: stderr.trim().split('\n').slice(-3).join(' | ') };
  return { ok: true, seconds, peak_rss_mb: Math.round(peakKb / 1024) };
}

const load = [os.loadavg()[0]];
const cook = await timed(['cook', 'uniform', ...models, '--out', soup]);
load.push(os.loadavg()[0]);
const evaluate = cook.ok
  ? await timed(['eval', soup, '--data', path.join(dir, 'holdout.safetensors'), '--threads', '2'])
  : { ok: false, error: 'not cooked' };
load.push(os.loadavg()[0]);
console.log(
  JSON.stringify(
    {
      bench: 'big-model',
      model_gb: Math.round((modelBytes / 1e9) * 100) / 100,
      soup_gb: cook.ok
        ? Math.round(((fs.statSync(`${soup}.data`).size + fs.statSync(soup).size) / 1e9) * 100) / 100
        : null,
      load_average_1min: load.map((x) => Math.round(x * 100) / 100),
      cook,
      evaluate,
    },
    null,
    2,
  ),
);
if (!process.env.DIR) fs.rmSync(tmp, { recursive: true, force: true });
