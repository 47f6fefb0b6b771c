const encoder = new TextEncoder();

export interface SseClient {
  send(chunk: Uint8Array): void;
  close(): void;
}

/** `id:`, `event:` and `data:` lines; data is JSON so it never holds a raw newline. */
export function encodeEvent(event: string, data: unknown, id?: number | string): Uint8Array {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return encoder.encode(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Server-sent events to many clients: each event is encoded once and the same bytes are queued
 * to every client, and one timer sends the heartbeat comment that keeps proxies from closing
 * idle streams (every 15 s, as Mastodon's streaming server does).
 */
export class SseHub {
  readonly clients = new Set<SseClient>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(heartbeatMs = 15_000) {
    const ping = encoder.encode(': ping\n\n');
    this.#heartbeat = setInterval(() => {
      for (const client of this.clients) client.send(ping);
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  broadcast(event: string, data: unknown, id?: number): void {
    if (this.clients.size === 0) return;
    const bytes = encodeEvent(event, data, id);
    for (const client of this.clients) client.send(bytes);
  }

  /** A streaming response; `start` may queue a backlog before live events flow. */
  open(start: (client: SseClient) => void, retryMs = 2000): Response {
    let client: SseClient | undefined;
    const hub = this;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        client = {
          send(chunk) {
            if (!open) return;
            try {
              controller.enqueue(chunk);
            } catch {
              open = false;
              hub.clients.delete(this);
            }
          },
          close() {
            if (!open) return;
            open = false;
            hub.clients.delete(this);
            try {
              controller.close();
            } catch {
              // already closed by the client
            }
          },
        };
        controller.enqueue(encoder.encode(`retry: ${retryMs}\n: connected\n\n`));
        start(client);
        hub.clients.add(client);
      },
      cancel() {
        if (client) hub.clients.delete(client);
      },
    });
    return new Response(stream, {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      },
    });
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const client of [...this.clients]) client.close();
  }
}
