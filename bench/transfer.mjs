// A weight buffer of SIZE_MB to a child process the way InferenceHost sends it to the inference host: in
// pieces (out/node/core/inference/transfer.js: ChunkUpload → fork with advanced serialisation → ChunkAssembler),
// and, with WHOLE=1, as one message as before. Reports the sender's longest event-loop stall (what the UI
// would feel), the longest single send(), the total time, and whether the child's sha256 of what it
// reassembled equals the sender's. Prints one JSON document. The first round pays first-touch page faults
// of fresh buffers (slow on this VM) on both sides.
//
// Run: npm run build:cli, then node bench/transfer.mjs
//   env: SIZE_MB (50; 3072 for a 3 GB soup: needs ~6.5 GB of memory, twice that with WHOLE=1), WHOLE (0),
//        ROUNDS (3: each way once per round, alternated)
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const transfer = await import(pathToFileURL(path.join(root, 'out/node/core/inference/transfer.js')).href);
const sha256 = (bytes) => {
  const hash = crypto.createHash('sha256');
  for (let at = 0; at < bytes.byteLength; at += 64 << 20) hash.update(bytes.subarray(at, at + (64 << 20)));
  return hash.digest('hex');
};

if (process.argv[2] === 'child') {
  const incoming = new transfer.ChunkAssembler();
  process.on('message', (m) => {
    if (m.type === 'chunk') {
      const received = incoming.add(m);
      process.send({ type: 'received', id: m.id, slot: m.slot, received });
    } else if (m.type === 'take') {
      const bytes = incoming.take(m.id, m.wire);
      process.send({ type: 'hash', sha256: sha256(bytes) });
    } else if (m.type === 'whole') {
      process.send({ type: 'hash', sha256: sha256(m.bytes) });
    }
  });
  process.on('disconnect', () => process.exit(0));
} else {
  const size = Number(process.env.SIZE_MB ?? 50) * 1024 * 1024;
  // shared memory, as the workers' conversion output is; the index of each MiB written into it
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  const block = crypto.randomBytes(1 << 20);
  for (let at = 0, i = 0; at < size; at += 1 << 20, i++) {
    bytes.set(block.subarray(0, Math.min(1 << 20, size - at)), at);
    new DataView(bytes.buffer, at, Math.min(8, size - at)).setUint32(0, i, true);
  }
  const want = sha256(bytes);
  const child = fork(fileURLToPath(import.meta.url), ['child'], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = [];
  // a child that dies (a whole 3 GB message kills it) answers every later wait with its exit
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { type: 'exit', message: `the child exited (${signal ?? code})` };
    if (waiter) waiter(exited);
    waiter = null;
  });
  let waiter = null;
  let upload = null;
  child.on('message', (m) => {
    if (m.type === 'received') upload?.acknowledge(m.received);
    else if (waiter) {
      waiter(m);
      waiter = null;
    } else replies.push(m);
  });
  const reply = () =>
    new Promise((resolve) =>
      replies.length ? resolve(replies.shift()) : exited ? resolve(exited) : (waiter = resolve),
    );
  const results = [];
  const measure = async (name, run) => {
    // the longest gap between ticks of a 1 ms timer: how long the sender's event loop could not answer
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    let longestSend = 0;
    const timedSend = (message) => {
      const t = performance.now();
      child.send(message);
      longestSend = Math.max(longestSend, performance.now() - t);
    };
    const t0 = performance.now();
    let outcome;
    let sentMs = null;
    try {
      await run(timedSend);
      sentMs = performance.now() - t0;
      const answer = await reply();
      outcome =
        answer.type === 'exit' ? answer.message : answer.sha256 === want ? 'bit-identical' : 'DIFFERENT';
    } catch (error) {
      outcome = `failed: ${error.message}`;
    }
    clearInterval(ticker);
    results.push({
      how: name,
      outcome,
      // until the sender is done with the array (the child's hashing after that is not counted)
      sent_ms: sentMs === null ? null : Math.round(sentMs),
      longest_send_ms: Math.round(longestSend * 10) / 10,
      longest_event_loop_gap_ms: Math.round(longestGap * 10) / 10,
      load_average: Math.round(os.loadavg()[0] * 10) / 10,
    });
  };
  const rounds = Number(process.env.ROUNDS ?? 3);
  for (let r = 1; r <= rounds; r++) {
    await measure('chunked', async (send) => {
      upload = new transfer.ChunkUpload(r, 0, bytes);
      await upload.run(send, { chunkBytes: transfer.CHUNK_BYTES, window: transfer.CHUNK_WINDOW });
      send({ type: 'take', id: r, wire: { kind: 'chunked', slot: 0, byteLength: size } });
    });
    if (process.env.WHOLE === '1')
      await measure('one message', async (send) => send({ type: 'whole', bytes }));
  }
  if (!exited) child.disconnect();
  console.log(
    JSON.stringify(
      {
        bench: 'transfer',
        size_mb: size / 1024 / 1024,
        chunk_bytes: transfer.CHUNK_BYTES,
        window: transfer.CHUNK_WINDOW,
        results,
      },
      null,
      2,
    ),
  );
}
