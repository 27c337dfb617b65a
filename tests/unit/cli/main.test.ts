import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import { spreadMultiValues } from '../../../src-main/cli/argv.js';
import { tempDir } from '../foundation/helpers.js';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

describe('tureen CLI', () => {
  it('lists its commands with --help', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: tureen <command>/);
    expect(stdout).toMatch(/\n {2}info /);
    expect(stdout).toMatch(/\n {2}serve /);
  });

  it('prints its version', async () => {
    const { stdout } = await cli(['--version']);
    expect(stdout).toMatch(/^tureen \d+\.\d+\.\d+\n$/);
  });

  it('prints one JSON document for info --json', async () => {
    const db = `${tempDir()}/t.sqlite`;
    const { code, stdout } = await cli(['info', '--json', '--db', db]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Record<string, unknown>;
    expect(doc.schema).toBe('tureen/info@1');
    expect(doc.databasePath).toBe(db);
    expect(doc.chosenProvider).toBeTypeOf('string');
  });

  it('fails with one line on stderr, and with an error document in --json mode', async () => {
    const human = await cli(['frobnicate']);
    expect(human.code).toBe(2);
    expect(human.stderr.trim().split('\n')).toHaveLength(1);
    expect(human.stderr).toContain('unknown command "frobnicate"');

    const json = await cli(['frobnicate', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      schema: 'tureen/error@1',
      error: expect.objectContaining({ code: 'bad_request', message: expect.stringContaining('frobnicate') }),
    });
  });

  it('rejects an unknown option of a command', async () => {
    const { code, stderr } = await cli(['info', '--frob']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--frob/);
  });
});

describe('space-separated values of repeated options', () => {
  const options = { eval: { type: 'string' as const, multiple: true }, out: { type: 'string' as const } };
  it('spreads values until the next flag', () => {
    expect(spreadMultiValues(['dir', '--eval', 'a', 'b', '--out', 'x'], options)).toEqual([
      'dir',
      '--eval',
      'a',
      '--eval',
      'b',
      '--out',
      'x',
    ]);
  });
  it('leaves single-valued options alone', () => {
    expect(spreadMultiValues(['--out', 'x', 'y'], options)).toEqual(['--out', 'x', 'y']);
  });
});
