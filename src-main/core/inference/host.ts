import { TureenError } from '../../common/errors.js';
import type { HostRequest, HostResponse, ModelSource, ValueInfo, WireModelSource } from './protocol.js';
import type { HostChannel, HostSpawner } from './spawner.js';
import { forkSpawner } from './spawner.js';
import type { ChunkOptions, ChunkUpload } from './transfer.js';
import { CHUNK_BYTES, CHUNK_WINDOW, wireBytes } from './transfer.js';

export interface LoadedInfo {
  provider: string;
  fallbackReason: string | null;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface HostEvaluation {
  n: number;
  classes: number;
  logits: Float32Array;
  durationMs: number;
  runMs: number;
}

const MAX_SESSIONS = 2;

interface Pending {
  resolve: (value: HostResponse) => void;
  reject: (error: Error) => void;
  onProgress?: (done: number, total: number) => void;
  /** the request's chunked arrays, by slot, while they are sent */
  uploads?: ChunkUpload[];
}

interface Generation {
  channel: HostChannel;
  ready: Promise<{ pid: number; ortVersion: string }>;
  graphs: Set<string>;
  models: Map<string, LoadedInfo>;
}

/**
 * The parent's handle on the inference host. Requests go to one process; if it dies, every pending request
 * fails with `host_crashed` and the next request starts a fresh process (callers retry, and cached logits
 * mean nothing done before the crash is redone).
 */
export class InferenceHost {
  private generation: Generation | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private crashes = 0;
  private readonly chunks: ChunkOptions;

  /** `chunks`: piece size and window of large transfers (tests use small pieces on tiny models) */
  constructor(
    private readonly spawner: HostSpawner = forkSpawner(),
    chunks: Partial<ChunkOptions> = {},
  ) {
    this.chunks = { chunkBytes: chunks.chunkBytes ?? CHUNK_BYTES, window: chunks.window ?? CHUNK_WINDOW };
  }

  get pid(): number | undefined {
    return this.generation?.channel.pid;
  }

  get crashCount(): number {
    return this.crashes;
  }

  private start(): Generation {
    if (this.generation) return this.generation;
    const channel = this.spawner.spawn();
    let markReady: (value: { pid: number; ortVersion: string }) => void = () => {};
    let markDead: (error: Error) => void = () => {};
    const ready = new Promise<{ pid: number; ortVersion: string }>((resolve, reject) => {
      markReady = resolve;
      markDead = reject;
    });
    ready.catch(() => {});
    const generation: Generation = { channel, ready, graphs: new Set(), models: new Map() };
    channel.onMessage((message) => {
      if (message.type === 'ready') {
        markReady({ pid: message.pid, ortVersion: message.ortVersion });
        return;
      }
      const pending = this.pending.get(message.id);
      if (!pending) return;
      if (message.type === 'progress') {
        pending.onProgress?.(message.done, message.total);
        return;
      }
      if (message.type === 'received') {
        pending.uploads?.[message.slot]?.acknowledge(message.received);
        return;
      }
      this.pending.delete(message.id);
      if (message.type === 'failed')
        pending.reject(new TureenError(message.error.code, message.error.message, message.error.detail));
      else pending.resolve(message);
    });
    channel.onExit((code, signal) => {
      if (this.generation === generation) this.generation = null;
      this.crashes++;
      const error = new TureenError(
        'host_crashed',
        `the inference host (pid ${channel.pid ?? '?'}) stopped (${signal ? `signal ${signal}` : `exit code ${code}`}); it restarts on the next request, and finished evaluations are cached, so run again`,
        { pid: channel.pid, code, signal },
      );
      markDead(error);
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.reject(error);
      }
    });
    this.generation = generation;
    this.updateBusy();
    return generation;
  }

  /** requests in flight, including those still waiting for the host to start */
  private active = 0;

  private updateBusy(): void {
    this.generation?.channel.setBusy(this.active > 0);
  }

  /**
   * Sends a request and waits for its answer. `uploads` (the request's large arrays) go first, piece by
   * piece; a host that dies or fails the request meanwhile stops them with the request's error, and a
   * cancelled signal stops them with `cancelled` (the host then drops the pieces it holds).
   */
  private async request<T extends HostResponse['type']>(
    message: HostRequest & { id: number },
    generation: Generation,
    options: {
      onProgress?: ((done: number, total: number) => void) | undefined;
      signal?: AbortSignal | undefined;
      uploads?: ChunkUpload[];
    } = {},
  ): Promise<Extract<HostResponse, { type: T }>> {
    const { onProgress, signal, uploads = [] } = options;
    this.active++;
    this.updateBusy();
    const onAbort = () => generation.channel.send({ type: 'cancel', id: message.id });
    try {
      await generation.ready;
      if (signal?.aborted) throw new TureenError('cancelled', 'evaluation cancelled');
      const result = new Promise<HostResponse>((resolve, reject) => {
        this.pending.set(message.id, {
          resolve,
          reject: (error) => {
            for (const upload of uploads) upload.fail(error);
            reject(error);
          },
          ...(onProgress ? { onProgress } : {}),
          ...(uploads.length ? { uploads } : {}),
        });
      });
      // an upload that throws leaves `result` unawaited: its rejection is the same error, already thrown
      result.catch(() => {});
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for (const upload of uploads)
          await upload.run((chunk) => generation.channel.send(chunk), this.chunks, signal);
      } catch (error) {
        this.pending.delete(message.id);
        throw error;
      }
      generation.channel.send(message);
      return (await result) as Extract<HostResponse, { type: T }>;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.active--;
      this.updateBusy();
    }
  }

  /** The onnxruntime version the host runs (starts the host if needed). */
  async ortVersion(): Promise<string> {
    const generation = this.start();
    this.active++;
    this.updateBusy();
    try {
      return (await generation.ready).ortVersion;
    } finally {
      this.active--;
      this.updateBusy();
    }
  }

  /**
   * Create (or reuse) a session for a model in the current host process. A buffer source's large arrays are
   * sent in pieces before the request (transfer.ts); `signal` stops such a transfer between pieces.
   */
  async load(
    modelKey: string,
    source: ModelSource,
    provider: string,
    threads: number | null,
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<LoadedInfo> {
    const generation = this.start();
    const known = generation.models.get(modelKey);
    if (known) {
      generation.models.delete(modelKey);
      generation.models.set(modelKey, known);
      return known;
    }
    const id = this.nextId++;
    const uploads: ChunkUpload[] = [];
    let sent: WireModelSource;
    if (source.kind === 'buffer') {
      const graphBytes = generation.graphs.has(source.graphKey) ? undefined : source.graphBytes;
      sent = {
        kind: 'buffer',
        graphKey: source.graphKey,
        externalDataPath: source.externalDataPath,
        ...(graphBytes ? { graphBytes: wireBytes(id, graphBytes, uploads, this.chunks) } : {}),
        weights: wireBytes(id, source.weights, uploads, this.chunks),
      };
    } else sent = source;
    const reply = await this.request<'loaded'>(
      { type: 'load', id, modelKey, source: sent, provider, threads },
      generation,
      { uploads, signal: options.signal },
    );
    if (source.kind === 'buffer') generation.graphs.add(source.graphKey);
    const info: LoadedInfo = {
      provider: reply.provider,
      fallbackReason: reply.fallbackReason,
      inputs: reply.inputs,
      outputs: reply.outputs,
    };
    generation.models.set(modelKey, info);
    // Sessions hold a whole model's weights: keep the two most recently used, release the rest.
    while (generation.models.size > MAX_SESSIONS)
      this.release(generation.models.keys().next().value as string);
    return info;
  }

  /** Run every batch of an eval set through a loaded model; cancellable between batches. */
  async evaluate(
    modelKey: string,
    evalset: { file: string; hash: string; stamp?: { size: number; mtimeMs: number; ino: number } },
    batchSize: number,
    options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<HostEvaluation> {
    const generation = this.start();
    if (!generation.models.has(modelKey))
      throw new TureenError('internal', `model ${modelKey} is not loaded in the inference host`);
    const reply = await this.request<'evaluated'>(
      {
        type: 'evaluate',
        id: this.nextId++,
        modelKey,
        evalsetFile: evalset.file,
        evalsetHash: evalset.hash,
        ...(evalset.stamp ? { evalsetStamp: evalset.stamp } : {}),
        batchSize,
      },
      generation,
      { onProgress: options.onProgress, signal: options.signal },
    );
    return {
      n: reply.n,
      classes: reply.classes,
      logits: reply.logits,
      durationMs: reply.durationMs,
      runMs: reply.runMs,
    };
  }

  /** Drop a session (a rejected greedy candidate) so its weights are freed. */
  release(modelKey: string): void {
    const generation = this.generation;
    if (!generation?.models.delete(modelKey)) return;
    generation.channel.send({ type: 'release', modelKey });
  }

  close(): void {
    const generation = this.generation;
    this.generation = null;
    generation?.channel.kill();
  }
}
