import type { ApiRequest, ApiResponse, Channel, EventName, EventPayload } from '../../src-main/common/api';
import type { ErrorInfo } from '../../src-main/common/errors';

/** A failed call, with the service's error code and detail (e.g. which field was wrong). */
export class ApiError extends Error {
  readonly code: string;
  readonly detail: unknown;
  constructor(info: ErrorInfo) {
    super(info.message);
    this.code = info.code;
    this.detail = info.detail;
  }
}

type Envelope = { ok: true; value: unknown } | { ok: false; error: ErrorInfo };
type RawListener = (name: string, payload: unknown) => void;

interface Bridge {
  invoke(channel: string, payload: unknown): Promise<Envelope>;
  subscribe(listener: RawListener): () => void;
}

interface Transport {
  kind: 'electron' | 'http';
  invoke(channel: string, payload: unknown): Promise<unknown>;
  subscribe(listener: RawListener): () => void;
}

function electronTransport(bridge: Bridge): Transport {
  return {
    kind: 'electron',
    async invoke(channel, payload) {
      const envelope = await bridge.invoke(channel, payload);
      if (!envelope.ok) throw new ApiError(envelope.error);
      return envelope.value;
    },
    subscribe: (listener) => bridge.subscribe(listener),
  };
}

const TOKEN_KEY = 'tureen.token';

/** The token arrives once in the URL printed by `tureen serve`; keep it for reloads, hide it from the bar. */
function takeToken(): string {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function httpTransport(): Transport {
  const token = takeToken();
  return {
    kind: 'http',
    async invoke(channel, payload) {
      let response: Response;
      try {
        response = await fetch(`api/${encodeURIComponent(channel)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-tureen-token': token },
          body: JSON.stringify(payload ?? {}),
        });
      } catch {
        throw new ApiError({
          code: 'io_error',
          message: 'Tureen is not answering: is `tureen serve` still running?',
        });
      }
      const body = (await response.json().catch(() => null)) as { error?: ErrorInfo } | null;
      if (!response.ok) {
        throw new ApiError(
          body?.error ?? { code: 'internal', message: `HTTP ${response.status} from ${channel}` },
        );
      }
      return body;
    },
    subscribe(listener) {
      const source = new EventSource(`api/events?token=${encodeURIComponent(token)}`);
      source.onmessage = (message: MessageEvent<string>) => {
        const { name, payload } = JSON.parse(message.data) as { name: string; payload: unknown };
        listener(name, payload);
      };
      return () => source.close();
    },
  };
}

function pickTransport(): Transport {
  const bridge = (window as unknown as { tureen?: Bridge }).tureen;
  return bridge ? electronTransport(bridge) : httpTransport();
}

/** The renderer's only way to the service; it does not know (or care) which transport it is on. */
export class ApiClient {
  private readonly transport: Transport;
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();

  constructor(transport: Transport = pickTransport()) {
    this.transport = transport;
    this.transport.subscribe((name, payload) => {
      for (const listener of this.listeners.get(name) ?? []) listener(payload);
    });
  }

  get transportKind(): 'electron' | 'http' {
    return this.transport.kind;
  }

  call<C extends Channel>(channel: C, request: ApiRequest<C>): Promise<ApiResponse<C>> {
    this.pending(+1);
    const answer = this.transport.invoke(channel, request) as Promise<ApiResponse<C>>;
    return answer.finally(() => this.pending(-1));
  }

  private inFlight = 0;

  /**
   * Calls in flight, published as `<html data-api-pending="n">`: the browser tests wait for a view to have
   * its answers (0) instead of guessing from network silence.
   */
  private pending(change: number): void {
    this.inFlight += change;
    if (typeof document !== 'undefined') document.documentElement.dataset.apiPending = String(this.inFlight);
  }

  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(listener as (payload: unknown) => void);
    this.listeners.set(name, set);
    return () => set.delete(listener as (payload: unknown) => void);
  }
}

export const api = new ApiClient();
