import { EventEmitter } from 'node:events';

/** In-process events: the SSE streams and the admin page listen here. */
export interface BusEvents {
  'post.created': { postId: number; status: string };
  'post.approved': { postId: number };
  'post.removed': { postId: number };
  'post.changed': { postId: number; from: string; to: string };
  'source.run': { sourceId: string; status: string };
}

export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Every SSE client subscribes; hundreds of listeners are normal here.
    this.#emitter.setMaxListeners(0);
  }

  emit<K extends keyof BusEvents>(event: K, payload: BusEvents[K]): void {
    this.#emitter.emit(event, payload);
  }

  on<K extends keyof BusEvents>(event: K, listener: (payload: BusEvents[K]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }
}
