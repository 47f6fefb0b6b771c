/**
 * Wall benchmark: many SSE clients on one server process, approval-to-delivery latency,
 * memory per connection, and GET /api/wall throughput beside a bare Hono route.
 *
 *   npx tsx scripts/bench/wall.ts [clients=2000] [approvals=40]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WallBenchResult {
  clients: number;
  connected: number;
  approvals: number;
  deliveries: number;
  expectedDeliveries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  memoryPerConnectionKB: number;
  wallRps: number;
  bareRps: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function health(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  return (await response.json()) as { memory: { rssBytes: number }; streams: { wall: number } };
}

/** Requests per second with `concurrency` keep-alive connections for `seconds`. */
async function load(url: string, seconds: number, concurrency = 32): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      await new Promise<void>((resolve, reject) => {
        http
          .get(url, { agent }, (res) => {
            res.resume();
            res.on('end', () => {
              done++;
              resolve();
            });
          })
          .on('error', reject);
      });
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return Math.round(done / ((performance.now() - started) / 1000));
}

export async function benchWall(clients = 2000, approvals = 40): Promise<WallBenchResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench/wall-server.ts', String(approvals)],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const ready = await new Promise<{ port: number; barePort: number; pending: number[] }>(
      (resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(JSON.parse(line));
        });
        child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
      },
    );
    const { port, barePort, pending } = ready;
    const base = `http://127.0.0.1:${port}`;
    const before = (await health(port)).memory.rssBytes;

    // Clients: raw HTTP so each costs what a browser's EventSource costs the server.
    const sent = new Map<number, number>();
    const latencies: number[] = [];
    const sockets: http.ClientRequest[] = [];
    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    let connected = 0;
    await Promise.all(
      Array.from(
        { length: clients },
        (_, i) =>
          new Promise<void>((resolve) => {
            setTimeout(
              () => {
                const req = http.get(`${base}/api/wall/stream`, { agent }, (res) => {
                  connected++;
                  res.setEncoding('utf8');
                  let buffer = '';
                  res.on('data', (chunk: string) => {
                    const now = performance.now();
                    buffer += chunk;
                    let end = buffer.indexOf('\n\n');
                    while (end >= 0) {
                      const block = buffer.slice(0, end);
                      buffer = buffer.slice(end + 2);
                      if (block.includes('event: post')) {
                        const id = Number(/"id":(\d+)/.exec(block)?.[1]);
                        const at = sent.get(id);
                        if (at !== undefined) latencies.push(now - at);
                      }
                      end = buffer.indexOf('\n\n');
                    }
                  });
                  resolve();
                });
                req.on('error', () => resolve());
                sockets.push(req);
              },
              Math.floor(i / 50) * 10,
            );
          }),
      ),
    );
    await sleep(1000);
    const during = await health(port);
    const memoryPerConnectionKB = Math.round(
      (during.memory.rssBytes - before) / 1024 / Math.max(1, during.streams.wall),
    );

    // A moderator approves posts through the real API, one every 250 ms.
    const login = await fetch(`${base}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ username: 'bench', password: 'bench password long' }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    for (const id of pending.slice(0, approvals)) {
      sent.set(id, performance.now());
      await fetch(`${base}/api/admin/posts/${id}/approve`, {
        method: 'POST',
        headers: { cookie, origin: base, 'content-type': 'application/json' },
        body: '{}',
      });
      await sleep(250);
    }
    await sleep(2000);
    for (const req of sockets) req.destroy();
    agent.destroy();

    const sorted = latencies.sort((a, b) => a - b);
    const wallRps = await load(`${base}/api/wall?limit=30`, 5);
    const bareRps = await load(`http://127.0.0.1:${barePort}/`, 5);
    return {
      clients,
      connected,
      approvals,
      deliveries: latencies.length,
      expectedDeliveries: connected * approvals,
      p50Ms: Math.round(percentile(sorted, 50) * 10) / 10,
      p99Ms: Math.round(percentile(sorted, 99) * 10) / 10,
      maxMs: Math.round((sorted.at(-1) ?? Number.NaN) * 10) / 10,
      memoryPerConnectionKB,
      wallRps,
      bareRps,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const clients = Number(process.argv[2] ?? 2000);
  const approvals = Number(process.argv[3] ?? 40);
  console.table([await benchWall(clients, approvals)]);
  process.exit(0);
}
