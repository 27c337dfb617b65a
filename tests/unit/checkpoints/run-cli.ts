import { runCli } from '../../../src-main/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed when `--json` was given, else {} */
  json: Record<string, unknown>;
}

/** Run `tureen <argv> --db <db>` in-process and capture what it prints. */
export async function runTureen(db: string, argv: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...argv, '--db', db], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  const json = argv.includes('--json') ? (JSON.parse(stdout) as Record<string, unknown>) : {};
  return { code, stdout, stderr, json };
}
