import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach } from 'vitest';
import type { Network, NormalizedPost } from '../../src/ingest/normalized-post.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { flatJpeg } from '../helpers/images.ts';

export interface Rgb3 {
  r: number;
  g: number;
  b: number;
}

export const RED: Rgb3 = { r: 220, g: 30, b: 30 };
export const GREEN: Rgb3 = { r: 30, g: 180, b: 60 };
export const BLUE: Rgb3 = { r: 30, g: 60, b: 200 };
export const YELLOW: Rgb3 = { r: 240, g: 220, b: 40 };

/** Whether the RGB pixel at byte i of raw pixels is within `tol` of c in every channel. */
export const near = (data: Buffer, i: number, c: Rgb3, tol = 4): boolean =>
  Math.abs((data[i] as number) - c.r) <= tol &&
  Math.abs((data[i + 1] as number) - c.g) <= tol &&
  Math.abs((data[i + 2] as number) - c.b) <= tol;

export const hex = (c: Rgb3): string =>
  `#${[c.r, c.g, c.b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

let serial = 0;

/** Ingests one photo as an approved post through the real pipeline; returns its post id. */
export async function addPhoto(
  ctx: TestContext,
  bytes: Buffer,
  author: { name: string; handle?: string | null },
  opts: { consent?: boolean; network?: Network; postedAt?: Date; url?: string | null } = {},
): Promise<number> {
  serial++;
  const handle = author.handle ?? null;
  const post: NormalizedPost = {
    network: opts.network ?? 'import',
    remoteId: `test-${serial}-${Math.random().toString(36).slice(2)}`,
    url: opts.url ?? null,
    text: '',
    language: null,
    postedAt: opts.postedAt ?? new Date(Date.UTC(2026, 0, 1, 0, serial)),
    author: {
      remoteId: `a-${author.name}-${handle}`,
      handle,
      name: author.name,
      profileUrl: null,
      avatarUrl: null,
    },
    media: [{ bytes, alt: null }],
    sourceId: 'test',
    region: null,
    consent: { display: opts.consent ?? true, print: opts.consent ?? true },
  };
  const result = await ctx.ingest.ingest(post, { approveBy: 'test' });
  if (result.postId === null) throw new Error(`photo rejected: ${JSON.stringify(result.problems)}`);
  return result.postId;
}

/** Flat-colour photos, one post each, author named after the colour; returns post id → colour. */
export async function addFlatPhotos(
  ctx: TestContext,
  colours: Rgb3[],
  copies = 1,
): Promise<Map<number, Rgb3>> {
  const out = new Map<number, Rgb3>();
  for (const c of colours) {
    for (let i = 0; i < copies; i++) {
      // A 1-level difference keeps the bytes (the content address) distinct per copy.
      const shade = { ...c, r: c.r === 255 ? 255 - i : c.r + i };
      const id = await addPhoto(ctx, await flatJpeg(shade, 300, 300), { name: `${hex(c)} ${i}` });
      out.set(id, c);
    }
  }
  return out;
}

/** A PNG of flat blocks: `blocks[row][col]` colours, each block `cw`×`ch` pixels. */
export async function blocksPng(blocks: Rgb3[][], cw: number, ch: number): Promise<Buffer> {
  const rows = blocks.length;
  const cols = (blocks[0] as Rgb3[]).length;
  const w = cols * cw;
  const h = rows * ch;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = (blocks[Math.floor(y / ch)] as Rgb3[])[Math.floor(x / cw)] as Rgb3;
      data.set([c.r, c.g, c.b], (y * w + x) * 3);
    }
  }
  return sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/** The colour of cell (col, row) of an 8×4 grid in four 4×2 blocks: red, green / blue, yellow. */
export const blockColour = (col: number, row: number): Rgb3 =>
  [
    [RED, GREEN],
    [BLUE, YELLOW],
  ][row >> 1]?.[col >> 2] as Rgb3;

/** A target for an 8×4 grid of 40 px cells in the four blocks of blockColour, written to dir. */
export async function blocksTarget(dir: string): Promise<string> {
  return writeTemp(
    dir,
    'target.png',
    await blocksPng(
      Array.from({ length: 4 }, (_, row) => Array.from({ length: 8 }, (_, col) => blockColour(col, row))),
      40,
      40,
    ),
  );
}

export function tempDir(prefix = 'standwall-mosaic-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeTemp(dir: string, name: string, bytes: Buffer | string): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** Raw RGB of an image file (read to a buffer first: file loaders are blocked process-wide). */
export async function pixels(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(readFileSync(file))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A valid-looking PNG whose header claims width×height (a decompression bomb's calling card). */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  // IHDR is the first chunk: length(4) type(4) at offset 8, data from 16, CRC after 13 bytes.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/**
 * A fresh test context and output folder for each test, handed to `use` before it runs, both
 * disposed of after it.
 */
export function eachTestWithContext(use: (ctx: TestContext, out: string) => void): void {
  let ctx: TestContext | undefined;
  let out: string | undefined;
  beforeEach(() => {
    ctx = createTestContext();
    out = tempDir();
    use(ctx, out);
  });
  afterEach(() => {
    ctx?.dispose();
    if (out) rmSync(out, { recursive: true, force: true });
  });
}
