import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import { randomMlp, writeMlp } from './build-onnx.js';

/** An ONNX model whose external-data file is a folder used to fail with a bare `EISDIR`, naming no file. */
describe('external data that is a folder', () => {
  it('is refused by cook with the model, the initializer and the reference named', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-external-folder-')));
    const a = writeMlp(path.join(dir, 'a', 'model.onnx'), randomMlp(1), { storage: 'external' });
    const b = writeMlp(path.join(dir, 'b', 'model.onnx'), randomMlp(2));
    const weights = path.join(dir, 'a', 'model.weights');
    fs.rmSync(weights);
    fs.mkdirSync(weights);
    let stdout = '';
    const code = await runCli(
      [
        'cook',
        'uniform',
        a,
        b,
        '--out',
        path.join(dir, 'soup.onnx'),
        '--json',
        '--db',
        path.join(dir, 't.sqlite'),
      ],
      { stdout: (t) => (stdout += t), stderr: () => undefined, isTTY: false },
    );
    expect(code).not.toBe(0);
    const { error } = JSON.parse(stdout) as { error: { message: string } };
    expect(error.message).not.toMatch(/EISDIR/);
    expect(error.message).toContain(a);
    expect(error.message).toContain('"model.weights" is a folder');
    expect(fs.existsSync(path.join(dir, 'soup.onnx'))).toBe(false);
  });
});
