/**
 * The inference host: a plain Node process that owns onnxruntime-node sessions, because `session.run`
 * blocks the thread that calls it. Started by `child_process.fork` (CLI, serve, tests) or Electron's
 * `utilityProcess` (the app); both deliver the same messages (protocol.ts).
 */
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import { TureenError, toErrorInfo } from '../../common/errors.js';
import fs from 'node:fs';
import type { OpenEvalSet } from '../datasets/evalset.js';
import { EvalSetDigest, openEvalSet, readChunks, readRows, sameStamp } from '../datasets/evalset.js';
import { Float32Converter } from '../datasets/transform.js';
import type { HostRequest, HostResponse, ModelSource, ValueInfo, WireModelSource } from './protocol.js';
import { ChunkAssembler } from './transfer.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof Ort;
const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function post(message: HostResponse): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

interface LoadedModel {
  session: Ort.InferenceSession;
  provider: string;
}

// Sessions are released by the parent (InferenceHost decides which to keep), so both sides agree.
const sessions = new Map<string, LoadedModel>();
const graphs = new Map<string, Uint8Array>();
/**
 * Files whose hash this host has computed, by path, size, mtime and inode: a later evaluation of the same
 * unchanged file (every greedy step reads the holdout again) need not hash it again.
 */
const verified = new Map<string, string>();
const MAX_VERIFIED = 64;

/**
 * The float32 form of small sets, kept after their first streamed evaluation (by the same key as
 * `verified`), most recently used last, while their total stays within this budget: a greedy search
 * evaluates the same holdout at every step, and converting it again each time would cost more than a tiny
 * model's inference. Larger sets are streamed every time, so the host's memory stays bounded by the budget
 * plus one batch whatever the set's size.
 */
const PREPARED_BUDGET_BYTES = 256 * 1024 * 1024;
interface PreparedSet {
  hash: string;
  /** per input, in layout order: every example as float32 */
  inputs: Float32Array[];
  bytes: number;
}
const prepared = new Map<string, PreparedSet>();

function keepPrepared(key: string, set: PreparedSet): void {
  prepared.delete(key);
  prepared.set(key, set);
  let total = 0;
  for (const p of prepared.values()) total += p.bytes;
  for (const [k, p] of prepared) {
    if (total <= PREPARED_BUDGET_BYTES) break;
    prepared.delete(k);
    total -= p.bytes;
  }
}
const cancelled = new Set<number>();
/** large arrays of requests still to come, arriving piece by piece ahead of them (transfer.ts) */
const incoming = new ChunkAssembler();

/** A load's source with its arrays in hand: inline as sent, chunked ones reassembled. */
function resolveSource(id: number, source: WireModelSource): ModelSource {
  if (source.kind === 'file') return source;
  return {
    kind: 'buffer',
    graphKey: source.graphKey,
    externalDataPath: source.externalDataPath,
    ...(source.graphBytes ? { graphBytes: incoming.take(id, source.graphBytes) } : {}),
    weights: incoming.take(id, source.weights),
  };
}

function valueInfo(list: readonly Ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return list.map((v) =>
    v.isTensor
      ? { name: v.name, type: v.type, shape: [...v.shape] }
      : { name: v.name, type: 'non-tensor', shape: [] },
  );
}

async function createSession(
  source: ModelSource,
  options: Ort.InferenceSession.SessionOptions,
): Promise<Ort.InferenceSession> {
  if (source.kind === 'file') return ort.InferenceSession.create(source.path, options);
  const graph = source.graphBytes ?? graphs.get(source.graphKey);
  if (!graph)
    throw new TureenError(
      'internal',
      `the inference host has no graph ${source.graphKey}; send it with the weights`,
    );
  if (source.graphBytes) graphs.set(source.graphKey, source.graphBytes);
  const weights = Buffer.from(source.weights.buffer, source.weights.byteOffset, source.weights.byteLength);
  return ort.InferenceSession.create(graph, {
    ...options,
    externalData: [{ path: source.externalDataPath, data: weights }],
  });
}

async function load(request: Extract<HostRequest, { type: 'load' }>): Promise<void> {
  const started = performance.now();
  const existing = sessions.get(request.modelKey);
  if (existing) sessions.delete(request.modelKey);
  const base: Ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // errors only: onnxruntime's warnings (one line per unused initializer: 100,000 lines and a minute for a
    // model with 100k of them) are not the user's to read; failures still arrive as exceptions
    logSeverityLevel: 3,
    ...(request.threads ? { intraOpNumThreads: request.threads, interOpNumThreads: 1 } : {}),
  };
  let fallbackReason: string | null = null;
  let provider = request.provider;
  let session: Ort.InferenceSession;
  const source = resolveSource(request.id, request.source);
  if (existing) {
    session = existing.session;
    provider = existing.provider;
  } else {
    try {
      session = await createSession(source, { ...base, executionProviders: [provider] });
    } catch (error) {
      if (provider === 'cpu') throw error;
      fallbackReason = `${provider} could not create a session (${(error as Error).message}); using cpu`;
      provider = 'cpu';
      session = await createSession(source, { ...base, executionProviders: ['cpu'] });
    }
  }
  sessions.set(request.modelKey, { session, provider });
  post({
    type: 'loaded',
    id: request.id,
    provider,
    fallbackReason,
    inputs: valueInfo(session.inputMetadata),
    outputs: valueInfo(session.outputMetadata),
    loadMs: performance.now() - started,
  });
}

function verifiedKey(open: OpenEvalSet): string {
  const { size, mtimeMs, ino } = open.stamp;
  return JSON.stringify([open.layout.file, size, mtimeMs, ino]);
}

function changed(file: string): TureenError {
  return new TureenError('bad_evalset', `${file} changed since it was validated; run again`, { file });
}

const yieldToMessages = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Streams the eval set through the session: each batch's rows are read by file offset into one reusable
 * buffer per input, converted to float32 into another, and run; nothing of the set is held beyond a batch
 * (but the float32 form of small sets, PREPARED_BUDGET_BYTES).
 * Logits are only ever returned for the set the caller validated: the file's stamp must be the one the caller
 * hashed, at open and after the last batch; a caller that sends no stamp gets the bytes hashed as they are
 * read (a set of one input, in file order) or before the loop (several inputs, whose hash order is not the
 * batch order).
 */
async function evaluate(request: Extract<HostRequest, { type: 'evaluate' }>): Promise<void> {
  const model = sessions.get(request.modelKey);
  if (!model)
    throw new TureenError(
      'internal',
      `the inference host has no session for ${request.modelKey}; load it first`,
    );
  const open = openEvalSet(request.evalsetFile);
  try {
    await run(request, model, open);
  } finally {
    fs.closeSync(open.fd);
  }
}

async function run(
  request: Extract<HostRequest, { type: 'evaluate' }>,
  model: LoadedModel,
  open: OpenEvalSet,
): Promise<void> {
  const { layout } = open;
  const n = layout.n;
  const key = verifiedKey(open);
  // a kept float32 form was verified when it was made, and its file is unchanged (same key)
  const ready = prepared.get(key);
  const hit = ready?.hash === request.evalsetHash ? ready : null;
  if (hit) {
    prepared.delete(key);
    prepared.set(key, hit);
  }
  // the caller hashed this very file (same size, mtime and inode): its hash holds, no second hashing
  if (request.evalsetStamp) {
    if (!sameStamp(open.stamp, request.evalsetStamp)) throw changed(layout.file);
    verified.set(key, request.evalsetHash);
  }
  let digest: EvalSetDigest | null = null;
  if (!hit && verified.get(key) !== request.evalsetHash) {
    digest = new EvalSetDigest(layout);
    if (layout.inputs.length > 1) {
      for (const input of layout.inputs)
        readChunks(open.fd, input.offset, input.byteLength, (bytes) => digest!.update(bytes), layout.file);
      digest.update(layout.labelBytes);
      if (digest.digest() !== request.evalsetHash) throw changed(layout.file);
      digest = null;
    }
  }
  const batchSize = Math.max(1, Math.min(request.batchSize, n));
  const elements = layout.inputs.map((input) => input.shape.reduce((a, b) => a * b, 1));
  const wholeBytes = elements.reduce((a, e) => a + e * 4, 0);
  // a set small enough to keep is converted straight into its whole float32 arrays
  const keep = hit
    ? null
    : wholeBytes <= PREPARED_BUDGET_BYTES
      ? elements.map((e) => new Float32Array(e))
      : null;
  const inputs = layout.inputs.map((input, k) => {
    const rowShape = input.shape.slice(1);
    const rowElements = rowShape.reduce((a, b) => a * b, 1);
    return {
      input,
      rowShape,
      rowElements,
      whole: hit ? hit.inputs[k]! : keep ? keep[k]! : null,
      converter: new Float32Converter(input.dtype, input.shape, layout.transforms[input.name]),
      raw: hit ? null : new Uint8Array(batchSize * input.rowBytes),
      data: hit || keep ? null : new Float32Array(batchSize * rowElements),
    };
  });
  const outputName = model.session.outputNames[0]!;
  const started = performance.now();
  let runMs = 0;
  let logits: Float32Array | null = null;
  let classes = 0;
  let lastProgress = 0;
  for (let start = 0; start < n; start += batchSize) {
    await yieldToMessages();
    if (cancelled.delete(request.id)) throw new TureenError('cancelled', 'evaluation cancelled');
    const count = Math.min(batchSize, n - start);
    const feeds: Record<string, Ort.Tensor> = {};
    for (const item of inputs) {
      const slot =
        item.whole?.subarray(start * item.rowElements, (start + count) * item.rowElements) ?? item.data!;
      let data: Float32Array;
      if (hit) data = slot;
      else {
        const bytes = readRows(open, item.input, start, count, item.raw!);
        digest?.update(bytes);
        data = item.converter.convert(bytes, slot, start);
      }
      feeds[item.input.name] = new ort.Tensor('float32', data, [count, ...item.rowShape]);
    }
    const runStarted = performance.now();
    const outputs = await model.session.run(feeds);
    runMs += performance.now() - runStarted;
    const output = outputs[outputName]!;
    const data = output.data as Float32Array;
    if (output.type !== 'float32' || data.length % count !== 0) {
      throw new TureenError(
        'inference_failed',
        `output "${outputName}" is ${output.type} ${JSON.stringify(output.dims)}; Tureen expects float32 logits [N, classes]`,
      );
    }
    if (!logits) {
      classes = data.length / count;
      logits = new Float32Array(n * classes);
    }
    logits.set(data, start * classes);
    for (const value of Object.values(outputs)) value.dispose();
    const now = performance.now();
    if (now - lastProgress > 100 || start + count >= n) {
      lastProgress = now;
      post({ type: 'progress', id: request.id, done: start + count, total: n });
    }
  }
  if (digest) {
    digest.update(layout.labelBytes);
    if (digest.digest() !== request.evalsetHash) throw changed(layout.file);
  }
  // the file must be the one hashed from the first read to the last
  if (!sameStamp(open.stamp, stampNow(open))) throw changed(layout.file);
  verified.set(key, request.evalsetHash);
  while (verified.size > MAX_VERIFIED) verified.delete(verified.keys().next().value as string);
  if (keep) keepPrepared(key, { hash: request.evalsetHash, inputs: keep, bytes: wholeBytes });
  post({
    type: 'evaluated',
    id: request.id,
    n,
    classes,
    logits: logits ?? new Float32Array(0),
    durationMs: performance.now() - started,
    runMs,
  });
}

function stampNow(open: OpenEvalSet): OpenEvalSet['stamp'] {
  const stat = fs.fstatSync(open.fd);
  return { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino };
}

async function handle(request: Exclude<HostRequest, { type: 'chunk' } | { type: 'cancel' }>): Promise<void> {
  if (request.type === 'release') {
    const model = sessions.get(request.modelKey);
    sessions.delete(request.modelKey);
    await model?.session.release();
    return;
  }
  try {
    if (request.type === 'load') await load(request);
    else await evaluate(request);
  } catch (error) {
    const info = toErrorInfo(error);
    post({
      type: 'failed',
      id: request.id,
      error: info.code === 'internal' ? { ...info, code: 'inference_failed' } : info,
    });
  } finally {
    cancelled.delete(request.id);
    if (request.type === 'load') incoming.drop(request.id);
  }
}

/**
 * A piece of a large array is copied into place as soon as it arrives, not queued behind the request being
 * handled (an evaluation yields between batches, so pieces flow meanwhile), and acknowledged: the sender
 * keeps a few pieces in flight. A bad piece fails its request.
 */
function receiveChunk(chunk: Extract<HostRequest, { type: 'chunk' }>): void {
  try {
    const received = incoming.add(chunk);
    post({ type: 'received', id: chunk.id, slot: chunk.slot, received });
  } catch (error) {
    post({ type: 'failed', id: chunk.id, error: toErrorInfo(error) });
  }
}

// Requests are handled one at a time, in order: ORT would serialise them anyway, and a cancel must be
// able to overtake the queue, so it is handled as soon as it arrives.
let queue = Promise.resolve();
function receive(message: unknown): void {
  const request = message as HostRequest;
  if (request.type === 'chunk') {
    receiveChunk(request);
    return;
  }
  if (request.type === 'cancel') {
    // a cancelled transfer's pieces are dropped; its request never comes
    if (!incoming.drop(request.id)) cancelled.add(request.id);
    return;
  }
  queue = queue.then(() => handle(request));
}

if (parentPort) parentPort.on('message', (event) => receive(event.data));
else process.on('message', receive);
process.on('disconnect', () => process.exit(0));
post({ type: 'ready', pid: process.pid, ortVersion });
