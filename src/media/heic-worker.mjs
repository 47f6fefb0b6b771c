// Decodes HEIC off the main thread: libheif (wasm) works synchronously, ~1 s for a 12 MP
// photo, which would stall every request and the wall's event streams meanwhile.
// Plain JavaScript so it runs as a worker under node, tsx and vitest alike.
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const decode = require('heic-decode');

parentPort.on('message', async ({ id, bytes }) => {
  try {
    const { width, height, data } = await decode({ buffer: bytes });
    parentPort.postMessage({ id, width, height, data }, [data.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
