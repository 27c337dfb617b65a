import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `tureen cook --recipe` of a FIFO waited forever for a writer; it is refused like every special file. */
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-recipe-special-'));
  execFileSync('mkfifo', [path.join(dir, 'soup.recipe.json')]);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tureen cook --recipe of a special file', () => {
  it('refuses a FIFO at once, naming it, instead of waiting for a writer', () => {
    const cli = path.resolve(__dirname, '../../../bin/tureen.js');
    const recipe = path.join(dir, 'soup.recipe.json');
    const res = spawnSync(process.execPath, [cli, 'cook', '--recipe', recipe, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, TUREEN_HOME: dir },
      timeout: 30_000,
    });
    expect(res.error).toBeUndefined(); // no timeout
    expect(res.status).toBe(2); // a bad value given on the command line
    const doc = JSON.parse(res.stdout) as { error: { code: string; message: string } };
    expect(doc.error).toMatchObject({ code: 'bad_request' });
    expect(doc.error.message).toBe(`${recipe} is a FIFO (named pipe); Tureen reads only regular files`);
  }, 60_000);

  it('still says a missing recipe does not exist', () => {
    const cli = path.resolve(__dirname, '../../../bin/tureen.js');
    const res = spawnSync(
      process.execPath,
      [cli, 'cook', '--recipe', path.join(dir, 'none.recipe.json'), '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, TUREEN_HOME: dir },
        timeout: 30_000,
      },
    );
    expect(res.status).toBe(1);
    expect((JSON.parse(res.stdout) as { error: { code: string } }).error.code).toBe('not_found');
  }, 60_000);
});
