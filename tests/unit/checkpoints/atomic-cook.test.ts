import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import { ensureCliBuilt, tureenBin } from '../cli/build-cli.js';
import { floatTensor, node, randomMlp, writeMlp } from './build-onnx.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-atomic-cook-')));
const db = path.join(tmp, 'cli.sqlite');
/** Large enough that writing and flushing the soup takes a while: the kill lands while it is written. */
const ELEMENTS = 24 * 1024 * 1024;
const TEMP = /^\..+\.tmp$/;

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args, '--db', db], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** y = x + W with one [1, ELEMENTS] float initializer, all `value` (built from the ONNX spec, not Tureen). */
function writeBigModel(file: string, value: number): string {
  const dims = [1, ELEMENTS];
  const info = (name: string) =>
    create(ValueInfoProtoSchema, {
      name,
      type: create(TypeProtoSchema, {
        value: {
          case: 'tensorType',
          value: create(TypeProto_TensorSchema, {
            elemType: 1,
            shape: create(TensorShapeProtoSchema, {
              dim: dims.map((d) =>
                create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } }),
              ),
            }),
          }),
        },
      }),
    });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'tureen-tests',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph: create(GraphProtoSchema, {
      name: 'big',
      node: [node('Add', ['x', 'w'], ['y'])],
      initializer: [floatTensor('w', dims, new Float32Array(ELEMENTS).fill(value), 'raw')],
      input: [info('x')],
      output: [info('y')],
    }),
  });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, toBinary(ModelProtoSchema, model));
  return file;
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let a: string;
let b: string;
beforeAll(() => {
  ensureCliBuilt([
    'core/checkpoints/atomic',
    'core/checkpoints/soup',
    'core/checkpoints/recipe',
    'core/checkpoints/finite-soup',
    'core/checkpoints/hashing',
  ]);
  a = writeBigModel(path.join(tmp, 'sweep', 'a.onnx'), 1);
  b = writeBigModel(path.join(tmp, 'sweep', 'b.onnx'), 3);
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('a cook killed with SIGKILL', () => {
  it('leaves no soup without its recipe, and the next cook into that folder removes its temporaries', async () => {
    const out = path.join(tmp, 'soups');
    fs.mkdirSync(out);
    const child = spawn(
      process.execPath,
      [tureenBin, 'cook', 'uniform', a, b, '--out', path.join(out, 'soup.onnx'), '--db', db],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    // Kill the moment the first temporary appears: the soup is being written or flushed.
    const watcher = fs.watch(out, (_event, name) => {
      if (name && TEMP.test(name)) child.kill('SIGKILL');
    });
    const ended = await exited;
    watcher.close();
    expect(ended, stderr).toBe('SIGKILL');
    const left = fs.readdirSync(out);
    // the premise: the kill landed mid-write (a temporary of the killed process is still there)
    expect(left.filter((n) => TEMP.test(n)).length, left.join(', ')).toBeGreaterThan(0);
    if (left.includes('soup.onnx')) expect(left).toContain('soup.onnx.recipe.json');

    // another writer that is still running keeps its temporary
    const sleeper = spawn('sleep', ['60']);
    const live = path.join(out, `.other.onnx.tureen-${sleeper.pid}-0123456789ab.tmp`);
    fs.writeFileSync(live, 'in progress');
    try {
      const again = await cli(['cook', 'uniform', a, b, '--out', path.join(out, 'again.onnx'), '--json']);
      expect(again.code, again.stdout).toBe(0);
      const after = fs.readdirSync(out);
      expect(after.filter((n) => TEMP.test(n))).toEqual([path.basename(live)]);
      expect(after).toEqual(expect.arrayContaining(['again.onnx', 'again.onnx.recipe.json']));
      const recipe = JSON.parse(fs.readFileSync(path.join(out, 'again.onnx.recipe.json'), 'utf8')) as {
        outputs: Array<{ path: string; sha256: string }>;
      };
      // the recipe was written from the soup's temporary: its hash is the hash of the file in place
      expect(recipe.outputs).toEqual([
        { path: path.join(out, 'again.onnx'), sha256: sha256(path.join(out, 'again.onnx')) },
      ]);
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 300_000);
});

describe('soups whose weights are not finite', () => {
  it('refuses interpolate --alpha 1e308 before writing, naming the tensor', async () => {
    const dir = path.join(tmp, 'small');
    const p = writeMlp(path.join(dir, 'p.onnx'), randomMlp(1));
    const q = writeMlp(path.join(dir, 'q.onnx'), randomMlp(2));
    const out = path.join(dir, 'out', 'wise.safetensors');
    const result = await cli(['cook', 'interpolate', p, q, '--alpha', '1e308', '--out', out, '--json']);
    expect(result.code).not.toBe(0);
    const doc = JSON.parse(result.stdout) as { error: { message: string; detail: { tensor: string } } };
    expect(doc.error.message).toMatch(/tensor "fc\d\.(weight|bias)"/);
    expect(doc.error.message).toContain(out);
    expect(fs.existsSync(path.join(dir, 'out')) ? fs.readdirSync(path.join(dir, 'out')) : []).toEqual([]);
  });

  it('refuses a float16 output that overflows 65504', async () => {
    const dir = path.join(tmp, 'half');
    const big = { ...randomMlp(3), b2: Float32Array.from([1e5, 0, 0]) };
    const p = writeMlp(path.join(dir, 'p.onnx'), big);
    const q = writeMlp(path.join(dir, 'q.onnx'), big);
    const out = path.join(dir, 'out', 'half.safetensors');
    const result = await cli(['cook', 'uniform', p, q, '--dtype', 'f16', '--out', out, '--json']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('tensor \\"fc2.bias\\"');
    expect(fs.existsSync(out)).toBe(false);
  });
});
