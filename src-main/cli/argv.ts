import type { OptionSpec } from './command.js';

/**
 * `--eval a b c` means `--eval a --eval b --eval c` for options declared `multiple`: values run until the
 * next token that starts with `-`. Positionals therefore go before such options.
 */
export function spreadMultiValues(argv: readonly string[], options: OptionSpec): string[] {
  const multiple = new Set(
    Object.entries(options)
      .filter(([, spec]) => spec.type === 'string' && spec.multiple)
      .map(([name]) => `--${name}`),
  );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    out.push(token);
    if (!multiple.has(token)) continue;
    let first = true;
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) {
      if (!first) out.push(token);
      out.push(argv[++i]!);
      first = false;
    }
  }
  return out;
}
