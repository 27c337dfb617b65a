import type { EventName, EventPayload } from '../common/api.js';

export type EventListener = <E extends EventName>(name: E, payload: EventPayload<E>) => void;

/** Fan-out of service events to every connected transport (IPC windows, SSE clients, CLI progress). */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    for (const listener of this.listeners) {
      try {
        listener(name, payload);
      } catch (error) {
        // A broken client must not break the job that emitted the event.
        console.error(`event listener failed on ${name}:`, error);
      }
    }
  }
}
