import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import type { EvalSet } from '../../../src-main/core/datasets/evalset.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { InferenceHost } from '../../../src-main/core/inference/host.js';
import { computeMetrics } from '../../../src-main/core/inference/metrics.js';
import type { ChunkRequest, HostResponse, ModelSource } from '../../../src-main/core/inference/protocol.js';
import type { HostSpawner, UtilityProcessLike } from '../../../src-main/core/inference/spawner.js';
import { forkSpawner, utilityProcessSpawner } from '../../../src-main/core/inference/spawner.js';
import { ChunkAssembler, ChunkUpload } from '../../../src-main/core/inference/transfer.js';
import { ensureHostBuilt, fixtureDir } from './build-host.js';

const kitchen = path.join(fixtureDir, 'kitchen');
const expected = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8')) as {
  models: Record<string, Record<string, { correct: number }>>;
};
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('chunked transfer, in process', () => {
  it('reassembles a shared-memory buffer bit for bit, within the window, each message one piece', async () => {
    // 10 MiB + 12345 bytes in shared memory, as the workers' conversion output is
    const total = 10 * 1024 * 1024 + 12345;
    const shared = new Uint8Array(new SharedArrayBuffer(total));
    crypto.randomFillSync(shared);
    const chunkBytes = 1024 * 1024;
    const window = 2;
    const assembler = new ChunkAssembler();
    const upload = new ChunkUpload(7, 0, shared);
    let inFlight = 0;
    let maxInFlight = 0;
    let largestMessage = 0;
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    // the channel: serialised on send like Node's advanced IPC, delivered and acknowledged a turn later
    const send = (message: ChunkRequest) => {
      const wire = v8.serialize(message);
      largestMessage = Math.max(largestMessage, wire.byteLength);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      setImmediate(() => {
        const received = assembler.add(v8.deserialize(wire) as ChunkRequest);
        inFlight--;
        upload.acknowledge(received);
      });
    };
    await upload.run(send, { chunkBytes, window });
    clearInterval(ticker);
    await new Promise((resolve) => setImmediate(resolve));
    const bytes = assembler.take(7, { kind: 'chunked', slot: 0, byteLength: total });
    expect(bytes.byteLength).toBe(total);
    expect(sha256(bytes)).toBe(sha256(shared));
    expect(maxInFlight).toBeLessThanOrEqual(window);
    // a piece, not the whole shared buffer behind the view, crosses the channel
    expect(largestMessage).toBeLessThan(chunkBytes + 1024);
    expect(turns).toBeGreaterThan(0);
    expect(assembler.pending).toBe(0);
  });

  it('refuses a piece out of order and a request whose pieces did not all arrive', () => {
    const assembler = new ChunkAssembler();
    const piece = (offset: number, n: number): ChunkRequest => ({
      type: 'chunk',
      id: 1,
      slot: 0,
      byteLength: 10,
      offset,
      bytes: new Uint8Array(n),
    });
    expect(assembler.add(piece(0, 4))).toBe(4);
    expect(() => assembler.add(piece(6, 4))).toThrow(/does not follow the 4 received/);
    expect(assembler.pending).toBe(0);
    assembler.add(piece(0, 4));
    expect(() => assembler.take(1, { kind: 'chunked', slot: 0, byteLength: 10 })).toThrow(
      /4 of 10 bytes arrived/,
    );
    expect(() => assembler.add(piece(4, 4))).toThrow(/has not seen begin/);
  });
});

/**
 * A fixture model as the soup path sends it: the graph with every float initializer as external data in
 * `weights.bin`, and the weights as one buffer (in shared memory, like the workers' output).
 */
function asBufferSource(file: string): ModelSource & { kind: 'buffer' } {
  const model = fromBinary(ModelProtoSchema, fs.readFileSync(file));
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer) {
    const raw = t.rawData;
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: 'weights.bin' }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(raw.byteLength) }),
    ];
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    parts.push(raw);
    offset += raw.byteLength;
  }
  const weights = new Uint8Array(new SharedArrayBuffer(offset));
  let at = 0;
  for (const p of parts) {
    weights.set(p, at);
    at += p.byteLength;
  }
  const graphBytes = toBinary(ModelProtoSchema, model);
  return { kind: 'buffer', graphKey: `graph:${file}`, graphBytes, externalDataPath: 'weights.bin', weights };
}

/** A spawner whose channel calls `onChunkAcknowledged` with the host's pid at its first `received`. */
function watchedSpawner(onChunkAcknowledged: (pid: number) => void): HostSpawner {
  const inner = forkSpawner(ensureHostBuilt());
  return {
    spawn() {
      const channel = inner.spawn();
      let fired = false;
      return {
        get pid() {
          return channel.pid;
        },
        send: (message) => channel.send(message),
        onMessage: (listener) =>
          channel.onMessage((message: HostResponse) => {
            if (message.type === 'received' && !fired) {
              fired = true;
              onChunkAcknowledged(channel.pid!);
            }
            listener(message);
          }),
        onExit: (listener) => channel.onExit(listener),
        setBusy: (busy) => channel.setBusy(busy),
        kill: () => channel.kill(),
      };
    },
  };
}

describe('chunked transfer to the inference host', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-transfer-'));
  const hosts: InferenceHost[] = [];
  const rel = 'sweep/run-02/model.onnx';
  const file = path.join(kitchen, rel);
  let set: EvalSet;
  // pieces of 100 bytes for the fixture's 1128 bytes of weights: 12 pieces, the last one partial
  const small = { chunkBytes: 100, window: 2 };

  const logitsOf = async (host: InferenceHost, key: string, source: ModelSource) => {
    await host.load(key, source, 'cpu', 1);
    const run = await host.evaluate(key, { file: set.file, hash: set.hash, stamp: set.stamp }, 64);
    return run;
  };

  beforeAll(() => {
    set = readEvalSet(path.join(kitchen, 'data/holdout.safetensors'));
  });
  afterAll(() => {
    for (const h of hosts) h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the same logits from weights sent in pieces as from the file and from one message', async () => {
    const host = new InferenceHost(forkSpawner(ensureHostBuilt()), small);
    const whole = new InferenceHost(forkSpawner(ensureHostBuilt()));
    hosts.push(host, whole);
    const source = asBufferSource(file);
    expect(source.weights.byteLength).toBe(1128);
    const fromFile = await logitsOf(host, 'file', { kind: 'file', path: file });
    const chunked = await logitsOf(host, 'chunked', source);
    const inline = await logitsOf(whole, 'inline', source);
    expect(bytesOf(chunked.logits).equals(bytesOf(fromFile.logits))).toBe(true);
    expect(bytesOf(inline.logits).equals(bytesOf(fromFile.logits))).toBe(true);
    // and the numbers are the model's: NumPy's forward pass (tests/fixtures/evaluation) counts the same
    const metrics = computeMetrics(
      { n: chunked.n, classes: chunked.classes, data: chunked.logits },
      set.labels,
      set.classSubset,
    );
    expect(metrics.correct).toBe(expected.models[rel]!.holdout!.correct);
    // a second model of the same graph sends only its weights, in pieces too
    const again = await logitsOf(host, 'chunked-again', source);
    expect(bytesOf(again.logits).equals(bytesOf(fromFile.logits))).toBe(true);
  });

  it("sends the same pieces through Electron's utilityProcess spawner: plain arrays, none above a piece", async () => {
    const posted: unknown[] = [];
    // utilityProcess.fork as the shell uses it, played by a fork: postMessage is where Electron clones
    const forkUtility = (entry: string): UtilityProcessLike => {
      const child = fork(entry, [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      return {
        get pid() {
          return child.pid;
        },
        postMessage: (message) => {
          posted.push(message);
          child.send(message as object);
        },
        on: (_event, listener) => child.on('message', listener),
        once: (_event, listener) => child.once('exit', (code) => listener(code ?? -1)),
        kill: () => child.kill(),
      };
    };
    const host = new InferenceHost(utilityProcessSpawner(forkUtility, ensureHostBuilt()), small);
    hosts.push(host);
    const source = asBufferSource(file);
    const fromFile = await logitsOf(host, 'file', { kind: 'file', path: file });
    const chunked = await logitsOf(host, 'chunked', source);
    expect(bytesOf(chunked.logits).equals(bytesOf(fromFile.logits))).toBe(true);
    const chunks = posted.filter((m): m is ChunkRequest => (m as ChunkRequest).type === 'chunk');
    // the weights' 12 pieces (the graph, above a piece too, comes in pieces of its own)
    expect(chunks.filter((c) => c.byteLength === 1128).length).toBe(Math.ceil(1128 / small.chunkBytes));
    expect(chunks.some((c) => c.byteLength === source.graphBytes!.byteLength)).toBe(true);
    for (const chunk of chunks) {
      expect(chunk.bytes.buffer).toBeInstanceOf(ArrayBuffer);
      expect(chunk.bytes.byteLength).toBeLessThanOrEqual(small.chunkBytes);
    }
  });

  it('rejects a transfer whose host dies mid-way with host_crashed, and the next load works', async () => {
    let kills = 0;
    // the first host dies at its first acknowledged piece; the one started after it is left alone
    const host = new InferenceHost(
      watchedSpawner((pid) => {
        if (kills++ === 0) process.kill(pid, 'SIGKILL');
      }),
      small,
    );
    hosts.push(host);
    await host.ortVersion();
    const pid = host.pid;
    const source = asBufferSource(file);
    const error = await host.load('doomed', source, 'cpu', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).code).toBe('host_crashed');
    expect(host.crashCount).toBe(1);
    const retried = await logitsOf(host, 'retried', source);
    expect(host.pid).not.toBe(pid);
    const metrics = computeMetrics(
      { n: retried.n, classes: retried.classes, data: retried.logits },
      set.labels,
      set.classSubset,
    );
    expect(metrics.correct).toBe(expected.models[rel]!.holdout!.correct);
  });

  it('stops a cancelled transfer between pieces; the host stays usable', async () => {
    const controller = new AbortController();
    const host = new InferenceHost(
      watchedSpawner(() => controller.abort()),
      small,
    );
    hosts.push(host);
    const source = asBufferSource(file);
    const error = await host
      .load('cancelled', source, 'cpu', 1, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect((error as TureenError).code).toBe('cancelled');
    const pid = host.pid;
    const after = await logitsOf(host, 'after', source);
    expect(host.pid).toBe(pid);
    expect(host.crashCount).toBe(0);
    const metrics = computeMetrics(
      { n: after.n, classes: after.classes, data: after.logits },
      set.labels,
      set.classSubset,
    );
    expect(metrics.correct).toBe(expected.models[rel]!.holdout!.correct);
  });
});
