/**
 * One seeded mutation of a file's bytes, as the hostile-input fuzz tests apply it: cut the file short, or
 * overwrite, bit-flip or set to a structural byte (0, 0xff, sign bits, digits, quotes, braces) one to four
 * places. Shared so that checkpoints, eval sets and scans are fuzzed alike.
 */
export function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const kind = Math.floor(random() * 4);
  if (kind === 0) return out.subarray(0, Math.floor(random() * out.length));
  const flips = 1 + Math.floor(random() * 4);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(random() * out.length);
    if (kind === 1) out[at] = Math.floor(random() * 256);
    else if (kind === 2) out[at] = out[at]! ^ (1 << Math.floor(random() * 8));
    else out[at] = [0, 0xff, 0x7f, 0x80, 0x30, 0x22, 0x7b][Math.floor(random() * 7)]!;
  }
  return out;
}
