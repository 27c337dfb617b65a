import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { openIngredient } from '../../../src-main/core/checkpoints/index.js';
import { pickleNotices } from '../../../src-main/core/checkpoints/torch/notices.js';
import { torchExpected, torchFixtures } from './torch-fixtures.js';

const expected = torchExpected();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-torch-hostile-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Opens and reads every tensor; returns the TureenError, fails the test on anything else. */
async function outcome(file: string): Promise<TureenError | null> {
  try {
    const ingredient = openIngredient(file);
    for (const t of ingredient.tensors) await ingredient.readTensorBytes(t.name);
    return null;
  } catch (error) {
    if (!(error instanceof TureenError)) throw error;
    return error;
  }
}

const SUSPICIOUS = /^(posix|os|nt|subprocess|commands)\.|^(__builtin__|builtins)\.(exec|eval)$/;

describe('pickles whose payload would create a file', () => {
  const payloads = Object.entries(expected.hostile).filter(([f]) => f !== 'hostile/raw-pickle.pt');

  it.each(payloads)('%s: weights load, the payload never runs, its global is reported', async (rel, info) => {
    fs.rmSync(info.marker, { force: true });
    const ingredient = openIngredient(path.join(torchFixtures, rel));
    for (const t of ingredient.tensors) await ingredient.readTensorBytes(t.name);
    expect(ingredient.tensors.map((t) => t.name).sort()).toEqual(
      Object.keys(expected.tensors['hf/checkpoint-10/pytorch_model.bin']!).sort(),
    );
    expect(ingredient.pickle!.stateDictKey).toBe('state_dict');
    // the generator listed the pickle's globals with pickletools; the dangerous ones are reported by name
    const dangerous = info.globals.filter((g) => SUSPICIOUS.test(g));
    expect(dangerous.length).toBe(1);
    expect(ingredient.pickle!.suspiciousGlobals).toEqual(dangerous);
    expect(fs.existsSync(info.marker), `${info.marker} was created`).toBe(false);
  });

  it('a bare payload pickle is refused, naming its global, and runs nothing', async () => {
    const info = expected.hostile['hostile/raw-pickle.pt']!;
    fs.rmSync(info.marker, { force: true });
    const error = await outcome(path.join(torchFixtures, 'hostile/raw-pickle.pt'));
    expect(error?.code).toBe('bad_checkpoint');
    expect(error?.message).toContain('posix.system');
    expect(error?.message).toContain('raw-pickle.pt');
    expect(fs.existsSync(info.marker)).toBe(false);
  });

  it.each(expected.hostile_trees)(
    '%s: a memo bomb or deep nesting beside the weights loads quickly',
    async (rel) => {
      const started = performance.now();
      const ingredient = openIngredient(path.join(torchFixtures, rel));
      expect(ingredient.tensors.length).toBe(expected.state_dict_keys.length);
      expect(performance.now() - started).toBeLessThan(5000);
    },
  );
});

describe('pickles that hold no model', () => {
  it.each(['optimizer.pt', 'scheduler.pt', 'rng_state.pth', 'training_args.bin'])(
    'HF Trainer %s is not_a_model, naming the file',
    async (name) => {
      const file = path.join(torchFixtures, 'hf/checkpoint-10', name);
      const error = await outcome(file);
      expect(error?.code).toBe('not_a_model');
      expect(error?.message).toContain(file);
    },
  );
});

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function positionsOf(bytes: Buffer, signature: number[]): number[] {
  const out: number[] = [];
  for (
    let i = bytes.indexOf(Buffer.from(signature));
    i >= 0;
    i = bytes.indexOf(Buffer.from(signature), i + 1)
  )
    out.push(i);
  return out;
}

type Mutation = (bytes: Buffer, random: () => number) => Buffer;
const int = (random: () => number, n: number) => Math.floor(random() * n);
const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 1];

const mutations: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, int(r, b.length)),
  'flip bytes': (b, r) => {
    const out = Buffer.from(b);
    for (let k = 1 + int(r, 8); k > 0; k--) out[int(r, out.length)] = int(r, 256);
    return out;
  },
  'absurd 32-bit field': (b, r) => {
    const out = Buffer.from(b);
    out.writeUInt32LE(HUGE[int(r, HUGE.length)]!, int(r, out.length - 4));
    return out;
  },
  'wrong ZIP offsets and sizes': (b, r) => {
    const out = Buffer.from(b);
    const central = positionsOf(out, [0x50, 0x4b, 0x01, 0x02]);
    if (central.length === 0) return out;
    const at = central[int(r, central.length)]!;
    const field = [20, 24, 42][int(r, 3)]!; // compressed size, uncompressed size, local header offset
    out.writeUInt32LE(r() < 0.5 ? HUGE[int(r, HUGE.length)]! : int(r, out.length), at + field);
    return out;
  },
  'huge memo references and lengths in the pickle': (b, r) => {
    const out = Buffer.from(b);
    // BINGET h / LONG_BINGET j / BINUNICODE X operands point past anything stored
    const ops = [0x68, 0x6a, 0x58, 0x4a].flatMap((op) => positionsOf(out, [op]));
    const at = ops[int(r, ops.length)]!;
    if (at + 5 <= out.length) out.writeUInt32LE(HUGE[int(r, HUGE.length)]!, at + 1);
    return out;
  },
  'inserted bytes': (b, r) => {
    const at = int(r, b.length);
    return Buffer.concat([
      b.subarray(0, at),
      Buffer.from([int(r, 256), int(r, 256), int(r, 256)]),
      b.subarray(at),
    ]);
  },
};

describe('seeded fuzz: a typed error or a valid parse, never a crash, a hang or unbounded memory', () => {
  const sources = [
    'hf/checkpoint-10/pytorch_model.bin',
    'timm/run-a/checkpoint-3.pth.tar',
    'views/view.pt',
    'legacy/legacy-views.pt',
    'legacy/legacy.pt',
    'hostile/os-system.pt',
  ];

  it('400 mutated checkpoints', async () => {
    const random = seeded(20261202);
    const names = Object.keys(mutations);
    const started = performance.now();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const counts = { parsed: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const source = sources[int(random, sources.length)]!;
      const name = names[int(random, names.length)]!;
      const bytes = mutations[name]!(fs.readFileSync(path.join(torchFixtures, source)), random);
      const file = path.join(dir, `${i}-${path.basename(source)}`);
      fs.writeFileSync(file, bytes);
      let error: TureenError | null;
      try {
        error = await outcome(file);
      } catch (thrown) {
        throw new Error(`case ${i} (${name} of ${source}) threw ${String(thrown)}`, { cause: thrown });
      }
      if (error) expect(error.message, `case ${i}`).toContain(file);
      counts[error ? 'refused' : 'parsed']++;
      fs.rmSync(file);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    // about 2 s on an idle 2-core machine; the bound only catches a hang (other work may share the CPU)
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(peak - rssBefore).toBeLessThan(256 * 1024 * 1024);
    // both outcomes occur: the fuzz reaches the parser, not only the first check
    expect(counts.parsed).toBeGreaterThan(10);
    expect(counts.refused).toBeGreaterThan(50);
  }, 30_000);
});

describe('scan notices', () => {
  it('a pickle naming code-running globals gets pickle_globals; EMA beside raw weights gets ema_weights', () => {
    const hostile = openIngredient(path.join(torchFixtures, 'hostile/os-system.pt')).summary();
    expect(pickleNotices(hostile)).toEqual([
      expect.objectContaining({ code: 'pickle_globals', globals: ['posix.system'], path: hostile.path }),
    ]);
    const timm = openIngredient(path.join(torchFixtures, 'timm/run-a/checkpoint-3.pth.tar')).summary();
    expect(pickleNotices(timm).map((n) => n.code)).toEqual(['ema_weights']);
    expect(pickleNotices(timm)[0]!.message).toContain('state_dict_ema');
    const plain = openIngredient(path.join(torchFixtures, 'soups/model_0.pt')).summary();
    expect(pickleNotices(plain)).toEqual([]);
  });
});
