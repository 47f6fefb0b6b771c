import { Worker } from 'node:worker_threads';
import { ftypBrands } from './sniff.ts';

/**
 * HEIC (HEVC in HEIF) decoding. The prebuilt libvips inside sharp has no HEVC decoder, so
 * libheif compiled to wasm (heic-decode) decodes to RGBA and sharp continues from raw pixels.
 * libheif applies the HEIF transformations (irot, imir, clap) while decoding, so the pixels are
 * upright; the EXIF orientation inside a HEIF file must be ignored (the spec makes the
 * transformations authoritative, and iPhones write both).
 */

export interface DecodedHeic {
  /** RGBA, 8 bits per channel, upright. */
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
}

/** heic-decode refuses any major brand outside this list before libheif even sees the file. */
const HEIC_DECODE_MAJOR_BRANDS = new Set(['mif1', 'msf1', 'heic', 'heix', 'hevc', 'hevx']);

type Reply =
  | { id: number; width: number; height: number; data: Uint8ClampedArray }
  | { id: number; error: string };

interface Job {
  resolve: (value: { width: number; height: number; data: Uint8ClampedArray }) => void;
  reject: (error: Error) => void;
}

let worker: Worker | null = null;
let nextId = 1;
const jobs = new Map<number, Job>();

function failAll(error: Error): void {
  for (const job of jobs.values()) job.reject(error);
  jobs.clear();
  worker = null;
}

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./heic-worker.mjs', import.meta.url));
  w.on('message', (reply: Reply) => {
    const job = jobs.get(reply.id);
    if (!job) return;
    jobs.delete(reply.id);
    if ('error' in reply) job.reject(new Error(reply.error));
    else job.resolve(reply);
    // An idle decoder must not keep a CLI process alive; a busy one must.
    if (jobs.size === 0) w.unref();
  });
  // A crash (e.g. wasm out of memory on a hostile file) fails the jobs in flight; the next
  // decode starts a fresh worker.
  w.on('error', (error) => failAll(error instanceof Error ? error : new Error(String(error))));
  w.on('exit', (code) => {
    if (worker === w) failAll(new Error(`HEIC decoder exited with code ${code}`));
  });
  worker = w;
  return w;
}

/**
 * Decodes the primary image. The caller checks the pixel limit on the header before, and on
 * the decoded size after (the header is only a claim).
 */
export async function decodeHeic(bytes: Uint8Array): Promise<DecodedHeic> {
  let input = bytes;
  const brands = ftypBrands(bytes);
  if (brands && !HEIC_DECODE_MAJOR_BRANDS.has(brands.major)) {
    // e.g. `heim`/`heis`: libheif decodes them; only heic-decode's own pre-check does not know them.
    input = Uint8Array.from(bytes);
    input.set([0x6d, 0x69, 0x66, 0x31], 8); // 'mif1'
  }
  const w = getWorker();
  const id = nextId++;
  const decoded = await new Promise<{ width: number; height: number; data: Uint8ClampedArray }>(
    (resolve, reject) => {
      jobs.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, bytes: input });
    },
  );
  if (decoded.data.length !== decoded.width * decoded.height * 4) {
    throw new Error('HEIC decoder returned a buffer of the wrong size');
  }
  const data = Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  return { data, width: decoded.width, height: decoded.height, channels: 4 };
}
