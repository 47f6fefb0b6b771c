import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsync, openSync, statSync } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Metadata, SharpOptions } from 'sharp';
import { z } from 'zod';
import { log } from '../log.ts';
import { FEATURE_VALUES, mosaicGrid } from '../mosaic/features.ts';
import { CELL_FILE, encodeCellRaster, encodeTileLuma, TILE_LUMA_FILE } from './cell-raster.mjs';
import { boxSums, boxThumbnail, computeFeatures, type ImageFeatures } from './features.ts';
import { decodeHeic } from './heic.ts';
import { JpegStructureError, stripJpeg, stripJpegMetadata } from './jpeg-strip.ts';
import { JpegDecodeError, type JpegTile } from './libjpeg-turbo.mjs';
import { defaultMediaThreads, type FolderFile, type MediaThreads } from './media-threads.ts';
import { sharp } from './sharp-loaders.ts';
import { ACCEPTED_TYPES_TEXT, describeUnsupported, sniffImageKind } from './sniff.ts';
import {
  type ImageKind,
  type MediaLimits,
  MediaRejectedError,
  type MediaRepository,
  type StoredImage,
  type StoreOptions,
} from './types.ts';

export const DEFAULT_MEDIA_LIMITS: Readonly<MediaLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
});

export const WALL_SIDE = 1600;
export const THUMB_SIDE = 400;
export const TILE_SIDE = 256;

const FILE_NAMES = {
  original: 'original.jpg',
  wall: 'wall.webp',
  thumb: 'thumb.webp',
  tile: 'tile.jpg',
} as const;
type FileKey = keyof typeof FILE_NAMES;
const FILE_KEYS = Object.keys(FILE_NAMES) as FileKey[];

const WHITE = { r: 255, g: 255, b: 255 };
// WebP effort 0: on 1600 px photos effort 4 takes ~4× as long (the single largest cost of a
// store) for ~10% fewer bytes at the same PSNR; the wall is served on a LAN or a CDN anyway.
const WALL_WEBP = { quality: 82, effort: 0 } as const;
const THUMB_WEBP = { quality: 78, effort: 0 } as const;
// 4:4:4 keeps the tile's colours exact enough for the mosaic matcher; it is tiny anyway.
// 4:2:0 like the camera JPEGs it comes from (their chroma is half resolution already), and no
// Huffman optimisation: the tile is written once per photo and decoded once per mosaic cell size,
// and both cost a third less this way for files ~20 % larger.
const TILE_JPEG = { quality: 90, chromaSubsampling: '4:2:0', optimiseCoding: false } as const;
// Without Huffman optimisation: it is a second pass over a full-size image (a third of the
// re-encode time) for ~5% smaller files.
const ORIGINAL_JPEG = { quality: 92, optimiseCoding: false } as const;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const fsyncAsync = promisify(fsync);

const formatCount = (n: number): string => n.toLocaleString('en-US');
const formatMiB = (n: number): string => {
  const mib = n / (1024 * 1024);
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
};

function resolveLimits(limits: Partial<MediaLimits> | undefined): MediaLimits {
  const merged = { ...DEFAULT_MEDIA_LIMITS };
  for (const key of ['maxBytes', 'maxPixels'] as const) {
    const value = limits?.[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`media limit ${key} must be a positive integer`);
    merged[key] = value;
  }
  return merged;
}

function tooManyPixels(width: number, height: number, limit: number): MediaRejectedError {
  return new MediaRejectedError(
    'too-many-pixels',
    `The photo is ${formatCount(width * height)} pixels (${formatCount(width)} × ${formatCount(height)}); ` +
      `the limit is ${formatCount(limit)}.`,
  );
}

function corrupt(kind: ImageKind, cause: unknown): MediaRejectedError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  log.debug({ kind, err: detail }, 'media: undecodable image');
  return new MediaRejectedError(
    'corrupt',
    `The ${kind.toUpperCase()} file could not be read: it is damaged or incomplete (${detail}).`,
  );
}

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

interface Rendered {
  original: Buffer;
  /** Of the upright original. */
  width: number;
  height: number;
  /** Absent when it is left for later: the cell raster and luma serve mosaics meanwhile. */
  tile?: Buffer;
  /** Measured on the tile's pixels before JPEG encoding, when the pipeline had them at hand. */
  features?: TileFeatures;
  /** The cell raster and the tile's luma (media/cell-raster.mjs) from those pixels, when they were at hand. */
  cell?: Buffer | null;
  luma?: Buffer | null;
  /** Absent when the display files are left for later (see `StoreOptions.display`). */
  wall?: Buffer;
  thumb?: Buffer;
}

/**
 * What a store with `display: 'later'` may leave to be made from the original: the display files,
 * and the tile, which mosaics need only when the cell raster or luma beside it is unusable.
 */
const LATER_KEYS = ['wall', 'thumb', 'tile'] as const;
type LaterKey = (typeof LATER_KEYS)[number];

/** Everything measured on the tile: the stored features and what the mosaic matcher compares. */
type TileFeatures = ImageFeatures & { mosaicGrid: number[] };

function measure(pixels: Pixels): TileFeatures {
  // One pass of box sums serves the mean colour, the hash and the mosaic grid (from their 32×32
  // thumbnail: on 300 real tiles its luma is 0.14 of 40 from measuring every pixel, on average;
  // 1.4 ms less per photo).
  const boxes = boxSums(pixels);
  return {
    ...computeFeatures(pixels, boxes),
    mosaicGrid: mosaicGrid(boxes ? boxThumbnail(boxes) : pixels),
  };
}

/**
 * The features and size of a stored photo, beside its files: a second store of the same bytes
 * answers from it exactly as the first did, without decoding anything.
 */
const FEATURES_FILE = 'features.json';
const featuresFileSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  meanColor: z.string().regex(/^#[0-9a-f]{6}$/),
  labGrid: z.array(z.number()).length(48),
  phash: z.string().regex(/^[0-9a-f]{16}$/),
  // Absent from files written before the mosaic grid was stored: the tile is measured again.
  mosaicGrid: z.array(z.number()).length(FEATURE_VALUES),
});

const rawInput = (p: Pixels): SharpOptions => ({
  raw: { width: p.width, height: p.height, channels: p.channels },
});

/**
 * Every derivative comes from the wall-sized pixels (a second decode of the original would
 * cost more than all the encodes), the thumb and, when large enough, the tile from one
 * thumb-sized resize of them.
 */
async function renderDerivatives(wall: Pixels): Promise<{ wall: Buffer; thumb: Buffer; tile: Buffer }> {
  const smaller = async (): Promise<{ thumb: Buffer; tile: Buffer }> => {
    const { data, info } = await sharp(wall.data, rawInput(wall))
      .resize({ width: THUMB_SIDE, height: THUMB_SIDE, fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const thumbPixels: Pixels = { data, width: info.width, height: info.height, channels: wall.channels };
    const tileSource = Math.min(info.width, info.height) >= TILE_SIDE ? thumbPixels : wall;
    const [thumb, tile] = await Promise.all([
      sharp(data, rawInput(thumbPixels)).webp(THUMB_WEBP).toBuffer(),
      // Always exactly 256×256 (the mosaic needs equal cells), so a tiny photo is enlarged here only.
      // Centre crop: supporters centre themselves and their sign; the saliency ('attention')
      // crop costs twice the time and tends to jump to a face and cut the sign.
      sharp(tileSource.data, rawInput(tileSource))
        .resize({ width: TILE_SIDE, height: TILE_SIDE, fit: 'cover', position: 'centre' })
        .jpeg(TILE_JPEG)
        .toBuffer(),
    ]);
    return { thumb, tile };
  };
  const [wallFile, small] = await Promise.all([
    sharp(wall.data, rawInput(wall)).webp(WALL_WEBP).toBuffer(),
    smaller(),
  ]);
  return { wall: wallFile, ...small };
}

/** The wall and thumb only, from wall-sized pixels: display files made after the store. */
async function renderDisplay(wall: Pixels): Promise<{ wall: Buffer; thumb: Buffer }> {
  const [wallFile, thumb] = await Promise.all([
    sharp(wall.data, rawInput(wall)).webp(WALL_WEBP).toBuffer(),
    sharp(wall.data, rawInput(wall))
      .resize({ width: THUMB_SIDE, height: THUMB_SIDE, fit: 'inside', withoutEnlargement: true })
      .webp(THUMB_WEBP)
      .toBuffer(),
  ]);
  return { wall: wallFile, thumb };
}

/**
 * The tile straight from the encoded photo: sharp lets libjpeg decode at 1/2, 1/4 or 1/8 scale
 * when the tile is that much smaller, which is most of why a bulk import can skip the
 * full-size decode. The whole entropy-coded stream is still read, so truncation is still caught.
 * tile.jpg itself is left for later (see LATER_KEYS) when the cell raster and luma stand in for
 * it: its encode was a tenth of a bulk import (2,000 photos: 12.4 s without it against 13.9 s).
 * Colour JPEGs kept as they came take libjpeg-turbo.mjs instead (see renderStripped).
 */
async function tileFrom(
  input: Buffer,
  options: SharpOptions,
  orient: boolean,
): Promise<{ tile?: Buffer; features: TileFeatures; cell: Buffer | null; luma: Buffer | null }> {
  let pipeline = sharp(input, options);
  if (orient) pipeline = pipeline.autoOrient();
  const { data, info } = await pipeline
    .flatten({ background: WHITE })
    .resize({ width: TILE_SIDE, height: TILE_SIDE, fit: 'cover', position: 'centre' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return tileCaches({ data, width: info.width, height: info.height, channels: info.channels });
}

/**
 * What a store keeps of the tile's pixels: its features, cell raster and luma, and the tile
 * itself only when those two cannot stand in for it. Features from these pixels rather than from
 * the encoded tile decoded again: one decode less per photo, and features.json keeps a second
 * store's answer identical.
 */
async function tileCaches(
  pixels: Pixels,
): Promise<{ tile?: Buffer; features: TileFeatures; cell: Buffer | null; luma: Buffer | null }> {
  const { data, width, height, channels } = pixels;
  const features = measure(pixels);
  const cell = encodeCellRaster(data, width, height, channels);
  const luma = encodeTileLuma(data, width, height, channels);
  if (cell && luma) return { features, cell, luma };
  return { tile: await sharp(data, rawInput(pixels)).jpeg(TILE_JPEG).toBuffer(), features, cell, luma };
}

/**
 * Features come from the tile as stored (decoded again), not from the pixels before JPEG
 * encoding: a second store() of the same bytes reuses the files and must return the same values.
 */
async function tileFeatures(
  tile: Buffer,
): Promise<{ features: TileFeatures; cell: Buffer | null; luma: Buffer | null }> {
  const { data, info } = await sharp(tile).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return {
    features: measure({ data, width: info.width, height: info.height, channels: info.channels }),
    cell: encodeCellRaster(data, info.width, info.height, info.channels),
    luma: encodeTileLuma(data, info.width, info.height, info.channels),
  };
}

/**
 * Writes a file whole or not at all (a temp file renamed into place). `durable` (the default)
 * also flushes it to disk first; a cache that is checked when read (features.json) skips that:
 * the flushes were a tenth of a bulk import's time, and one of four per photo was this file's.
 * Every step runs on libuv's threads: while other photos' flushes commit the file system's
 * journal, creating a file waits for the commit (on a busy disk, 6 s of a 19 s import spent in
 * this thread's open and mkdir, which the features and rows of other photos were waiting for).
 */
async function writeAtomic(dir: string, name: string, data: Buffer, durable = true): Promise<void> {
  const target = path.join(dir, name);
  // The writer's pid in the name tells a later run whether the write is still in flight.
  const tmp = path.join(dir, `${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let file: FileHandle | null = null;
  try {
    file = await open(tmp, 'wx', 0o644);
    await file.writeFile(data);
    if (durable) await file.sync();
    await file.close();
    file = null;
    await rename(tmp, target);
  } catch (error) {
    await file?.close();
    await rm(tmp, { force: true });
    throw error;
  }
}

function writerIsGone(tmpName: string): boolean {
  const pid = Number(/\.(\d+)\.[0-9a-f]+\.tmp$/.exec(tmpName)?.[1]);
  if (!pid) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Deletes the staging folders (see storeWhole) of this photo whose writer died (kill -9 before
 * the rename): storing it again leaves nothing half-written beside it.
 */
async function removeDeadStaging(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  if (!existsSync(parent)) return;
  const prefix = `.${path.basename(dir)}.`;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && name.endsWith('.tmp') && writerIsGone(name)) {
      await rm(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

/** Deletes temp files whose writer died (kill -9 between open and rename): nothing half-written stays. */
async function removeDeadTemps(dir: string): Promise<string[]> {
  // Most stores are of new photos: no directory yet, and no exception to build to say so.
  if (!existsSync(dir)) return [];
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith('.tmp') || !writerIsGone(name)) continue;
    await unlink(path.join(dir, name)).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/** Makes the renames themselves durable: they live in the directory, not in the files. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException)?.code === 'ENOENT';

export interface MediaRepositoryOptions {
  /** Where plain JPEGs' tiles are decoded and new folders written (default: see defaultMediaThreads). */
  threads?: MediaThreads;
}

export function createMediaRepository(
  mediaDir: string,
  limits?: Partial<MediaLimits>,
  options: MediaRepositoryOptions = {},
): MediaRepository {
  const root = path.resolve(mediaDir);
  const threads = options.threads ?? defaultMediaThreads();
  const resolved = resolveLimits(limits);
  const decodeOptions: SharpOptions = {
    // A truncated or damaged file is an error, not a photo with a grey lower half.
    failOn: 'truncated',
    limitInputPixels: resolved.maxPixels,
    // Animated GIF/WebP: the first frame only.
    pages: 1,
  };

  const relativeFiles = (sha: string): StoredImage['files'] => {
    const dir = `${sha.slice(0, 2)}/${sha}`;
    return {
      original: `${dir}/${FILE_NAMES.original}`,
      wall: `${dir}/${FILE_NAMES.wall}`,
      thumb: `${dir}/${FILE_NAMES.thumb}`,
      tile: `${dir}/${FILE_NAMES.tile}`,
    };
  };
  const shaDir = (sha: string): string => path.join(root, sha.slice(0, 2), sha);

  function checkSize(bytes: Buffer): ImageKind {
    if (bytes.length === 0) throw new MediaRejectedError('empty', 'The file is empty (0 bytes).');
    if (bytes.length > resolved.maxBytes) {
      throw new MediaRejectedError(
        'too-many-bytes',
        `The file is ${formatCount(bytes.length)} bytes (${formatMiB(bytes.length)}); ` +
          `the limit is ${formatCount(resolved.maxBytes)} bytes (${formatMiB(resolved.maxBytes)}).`,
      );
    }
    const kind = sniffImageKind(bytes);
    if (!kind) {
      throw new MediaRejectedError(
        'unsupported-type',
        `This file is ${describeUnsupported(bytes)}, not a photo we can take: accepted types are ${ACCEPTED_TYPES_TEXT}.`,
      );
    }
    return kind;
  }

  const displayInFlight = new Map<string, Promise<void>>();

  /** The files a store left for later (see LATER_KEYS) that are still missing. */
  async function missingLater(sha: string): Promise<LaterKey[]> {
    const dir = shaDir(sha);
    const found = await Promise.all(
      LATER_KEYS.map((k) =>
        stat(path.join(dir, FILE_NAMES[k])).then(
          (s) => s.isFile(),
          () => false,
        ),
      ),
    );
    return LATER_KEYS.filter((_, i) => !found[i]);
  }

  async function hasDisplayFiles(sha: string): Promise<boolean> {
    return (await missingLater(sha)).length === 0;
  }

  /**
   * Makes the wall, thumb and tile files from the stored original when they are missing. One
   * render per content address at a time: a wall of a thousand screens asking for a new photo at
   * once costs one decode.
   */
  function ensureDisplayFiles(sha: string): Promise<void> {
    if (!SHA256_HEX.test(sha)) return Promise.reject(new RangeError('not a sha256 content address'));
    const running = displayInFlight.get(sha);
    if (running) return running;
    const job = (async () => {
      const missing = await missingLater(sha);
      if (missing.length === 0) return;
      const dir = shaDir(sha);
      // The stored original is upright, sRGB and metadata-free: no orientation to apply again.
      const original = await readFile(path.join(dir, FILE_NAMES.original));
      const pixels = await wallPixels(original, decodeOptions, false);
      const files: Partial<Record<LaterKey, Buffer>> = missing.includes('tile')
        ? await renderDerivatives(pixels)
        : await renderDisplay(pixels);
      await Promise.all(missing.map((k) => writeAtomic(dir, FILE_NAMES[k], files[k] as Buffer)));
      await syncDirectory(dir);
    })().finally(() => displayInFlight.delete(sha));
    displayInFlight.set(sha, job);
    return job;
  }

  /**
   * The files already stored for this content, or null when the original or the tile is missing
   * or unreadable. Missing display files are made again when `display` asks for them now.
   */
  async function reuse(sha: string, kind: ImageKind, display: boolean): Promise<StoredImage | null> {
    const dir = shaDir(sha);
    const absolute = Object.fromEntries(FILE_KEYS.map((k) => [k, path.join(dir, FILE_NAMES[k])])) as Record<
      FileKey,
      string
    >;
    // Most stores are of new photos: asked without an exception for the missing file.
    const originalStat = statSync(absolute.original, { throwIfNoEntry: false });
    if (!originalStat) return null;
    try {
      // What a mosaic needs: the tile, or the cell raster and luma that stand in for it until
      // the tile is made (see LATER_KEYS).
      const cached = [CELL_FILE, TILE_LUMA_FILE].map((name) => path.join(dir, name));
      if (!existsSync(absolute.tile) && !cached.every((file) => existsSync(file))) return null;
      // Fresh mtime: a sweep running now must not take the directory this call is handing out.
      const now = new Date();
      await utimes(dir, now, now).catch(() => {});
      if (display) await ensureDisplayFiles(sha);
      const known = await readFile(path.join(dir, FEATURES_FILE), 'utf8')
        .then((text) => featuresFileSchema.parse(JSON.parse(text)))
        .catch(() => null);
      if (known)
        return {
          sha256: sha,
          sourceType: kind,
          bytes: originalStat.size,
          files: relativeFiles(sha),
          ...known,
        };
      // Stored before features.json existed (or it was damaged): measure the tile again.
      if (!existsSync(absolute.tile)) await ensureDisplayFiles(sha);
      const [original, tile] = await Promise.all([readFile(absolute.original), readFile(absolute.tile)]);
      const [meta, { features }] = await Promise.all([sharp(original).metadata(), tileFeatures(tile)]);
      return {
        sha256: sha,
        sourceType: kind,
        width: meta.width,
        height: meta.height,
        bytes: originalStat.size,
        files: relativeFiles(sha),
        ...features,
      };
    } catch (error) {
      if (!isNotFound(error))
        log.warn({ sha256: sha, err: String(error) }, 'media: stored files unusable, re-creating');
      return null;
    }
  }

  async function readHeader(bytes: Buffer, kind: ImageKind): Promise<Metadata> {
    let meta: Metadata;
    try {
      // Header only, no pixels: with a pixel limit here sharp would refuse without the
      // dimensions the rejection message needs.
      meta = await sharp(bytes, { failOn: 'truncated', limitInputPixels: false }).metadata();
    } catch (error) {
      throw corrupt(kind, error);
    }
    // Checked on the header, before any pixel is decoded (a 20 MB PNG can claim gigapixels).
    if (meta.width * meta.height > resolved.maxPixels)
      throw tooManyPixels(meta.width, meta.height, resolved.maxPixels);
    return meta;
  }

  async function wallPixels(input: Buffer, options: SharpOptions, orient: boolean): Promise<Pixels> {
    let pipeline = sharp(input, options);
    if (orient) pipeline = pipeline.autoOrient();
    const { data, info } = await pipeline
      .flatten({ background: WHITE })
      .resize({ width: WALL_SIDE, height: WALL_SIDE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  }

  async function renderHeic(bytes: Buffer, display: boolean): Promise<Rendered> {
    const decoded = await decodeHeic(bytes);
    if (decoded.width * decoded.height > resolved.maxPixels) {
      throw tooManyPixels(decoded.width, decoded.height, resolved.maxPixels);
    }
    // libheif has applied irot/imir already: no autoOrient, the EXIF orientation must be ignored.
    const options: SharpOptions = { ...rawInput(decoded), limitInputPixels: resolved.maxPixels };
    const [original, derived] = await Promise.all([
      sharp(decoded.data, options).flatten({ background: WHITE }).jpeg(ORIGINAL_JPEG).toBuffer(),
      display
        ? wallPixels(decoded.data, options, false).then(renderDerivatives)
        : tileFrom(decoded.data, options, false),
    ]);
    return { original, width: decoded.width, height: decoded.height, ...derived };
  }

  /**
   * The tile from libjpeg-turbo.mjs on a media thread. Its verdict on a damaged file stands (the
   * store refuses it as sharp would); anything else (a thread that crashed or closed, a trap,
   * memory) is not the photo's fault: null, and sharp decodes it instead.
   */
  async function jpegTileOrNull(stripped: Buffer): Promise<JpegTile | null> {
    try {
      return await threads.jpegTile(stripped, TILE_SIDE, resolved.maxPixels);
    } catch (error) {
      if (error instanceof JpegDecodeError || /pixel limit/i.test(String(error))) throw error;
      log.warn({ err: String(error) }, 'media: the JPEG tile decoder failed, decoding with sharp');
      return null;
    }
  }

  /**
   * An upright sRGB/grey JPEG kept as it came, minus its metadata, and its derivatives. `plainColour`:
   * its three components are sRGB as stored (no ICC profile to apply), which libjpeg-turbo.mjs takes.
   */
  async function renderStripped(
    stripped: Buffer,
    width: number,
    height: number,
    plainColour: boolean,
    display: boolean,
  ): Promise<Rendered> {
    // Decoding the stripped bytes (not the input) is what proves the stored original is whole.
    if (display) {
      const derived = await renderDerivatives(await wallPixels(stripped, decodeOptions, false));
      return { original: stripped, width, height, ...derived };
    }
    // A colour JPEG's tile from libjpeg-turbo in WebAssembly, which reads the whole entropy-coded
    // stream as sharp does: a truncated file is rejected the same. Twice as fast as sharp's
    // pipeline (2,000 photos: 3.7-4.3 ms of CPU a photo against 7.4-7.7 ms).
    const pixels = plainColour ? await jpegTileOrNull(stripped) : null;
    const derived = pixels ? await tileCaches(pixels) : await tileFrom(stripped, decodeOptions, false);
    return { original: stripped, width, height, ...derived };
  }

  async function renderEncoded(
    bytes: Buffer,
    kind: ImageKind,
    meta: Metadata,
    display: boolean,
  ): Promise<Rendered> {
    const upright = (meta.orientation ?? 1) === 1;
    // Lossless and cheapest: an upright sRGB/grey JPEG is kept as it came, minus its metadata.
    if (kind === 'jpeg' && upright && (meta.space === 'srgb' || meta.space === 'b-w')) {
      let stripped: Buffer | null = null;
      try {
        stripped = stripJpegMetadata(bytes);
      } catch (error) {
        if (!(error instanceof JpegStructureError)) throw error;
      }
      if (stripped) return renderStripped(stripped, meta.width, meta.height, false, display);
    }
    // Photos (JPEG, AVIF, WebP) were chroma-subsampled already; PNG/GIF graphics keep sharp colour edges.
    const chromaSubsampling =
      kind === 'png' || kind === 'gif' || meta.chromaSubsampling === '4:4:4' ? '4:4:4' : '4:2:0';
    const [original, derived] = await Promise.all([
      sharp(bytes, decodeOptions)
        .autoOrient()
        .flatten({ background: WHITE })
        .toColourspace('srgb')
        .jpeg({ ...ORIGINAL_JPEG, chromaSubsampling })
        .toBuffer({ resolveWithObject: true }),
      display
        ? wallPixels(bytes, decodeOptions, true).then(renderDerivatives)
        : tileFrom(bytes, decodeOptions, true),
    ]);
    return { original: original.data, width: original.info.width, height: original.info.height, ...derived };
  }

  /**
   * An upright 8-bit grey or YCbCr/RGB JPEG, as phones write them, stripped of its metadata and
   * with its size, all read from the marker segments: no header round trip through the decoder
   * (a third of the calls into sharp per imported photo). Anything else is left to sharp.
   */
  function plainJpeg(
    bytes: Buffer,
  ): { stripped: Buffer; width: number; height: number; plainColour: boolean } | null {
    let read: ReturnType<typeof stripJpeg>;
    try {
      read = stripJpeg(bytes);
    } catch (error) {
      if (error instanceof JpegStructureError) return null;
      throw error;
    }
    const { frame, orientation, adobeTransform, icc } = read.header;
    if (frame?.precision !== 8 || frame.width < 1 || frame.height < 1) return null;
    if (!(frame.components === 1 || frame.components === 3) || adobeTransform === 2) return null;
    if (orientation !== 1) return null;
    // Checked on the header, before any pixel is decoded, as readHeader does.
    if (frame.width * frame.height > resolved.maxPixels)
      throw tooManyPixels(frame.width, frame.height, resolved.maxPixels);
    return {
      stripped: read.bytes,
      width: frame.width,
      height: frame.height,
      plainColour: frame.components === 3 && icc !== 'other',
    };
  }

  async function render(bytes: Buffer, kind: ImageKind, display: boolean): Promise<Rendered> {
    const plain = kind === 'jpeg' ? plainJpeg(bytes) : null;
    const meta = plain ?? (await readHeader(bytes, kind));
    try {
      if (plain)
        return await renderStripped(plain.stripped, plain.width, plain.height, plain.plainColour, display);
      return kind === 'heic'
        ? await renderHeic(bytes, display)
        : await renderEncoded(bytes, kind, meta as Metadata, display);
    } catch (error) {
      if (error instanceof MediaRejectedError) throw error;
      if (error instanceof Error && /pixel limit/i.test(error.message)) {
        throw tooManyPixels(meta.width, meta.height, resolved.maxPixels);
      }
      throw corrupt(kind, error);
    }
  }

  /**
   * A new photo's files written in a staging folder beside its place and renamed into place
   * whole (folder-writer.mjs, on a media thread): one rename instead of one per file. Creating and
   * renaming are what storing costs most on a journaled disk (0.7–0.9 ms each on ext4 here, the
   * import's main cost after decoding). False, with nothing left behind, when the photo's folder
   * exists already.
   */
  function storeWhole(sha: string, files: FolderFile[]): Promise<boolean> {
    const dir = shaDir(sha);
    // The writer's pid in the name tells a later sweep whether it is still in flight.
    const staging = path.join(
      path.dirname(dir),
      `.${sha}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    return threads.writeFolder(dir, staging, files);
  }

  return {
    mediaDir: root,
    limits: resolved,

    async store(input: Uint8Array, options: StoreOptions = {}): Promise<StoredImage> {
      const display = (options.display ?? 'now') === 'now';
      const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
      const kind = checkSize(bytes);
      const sha =
        options.sha256 && SHA256_HEX.test(options.sha256)
          ? options.sha256
          : createHash('sha256').update(bytes).digest('hex');
      await Promise.all([removeDeadTemps(shaDir(sha)), removeDeadStaging(shaDir(sha))]);
      const existing = await reuse(sha, kind, display);
      if (existing) return existing;

      const rendered = await render(bytes, kind, display);
      const { features, cell, luma } = rendered.features
        ? { features: rendered.features, cell: rendered.cell ?? null, luma: rendered.luma ?? null }
        : await tileFeatures(rendered.tile as Buffer);
      const dir = shaDir(sha);
      const known = JSON.stringify({ width: rendered.width, height: rendered.height, ...features });
      // Caches, not flushed: after a power cut any may be empty or missing, and is then
      // measured again (features.json) or the tile decoded instead (the cell raster, the luma).
      const files: FolderFile[] = [
        ...FILE_KEYS.flatMap((k): FolderFile[] => {
          const data = rendered[k];
          return data ? [[FILE_NAMES[k], data, true]] : [];
        }),
        [FEATURES_FILE, Buffer.from(known), false],
        ...(cell ? [[CELL_FILE, cell, false] as FolderFile] : []),
        ...(luma ? [[TILE_LUMA_FILE, luma, false] as FolderFile] : []),
      ];
      if (!(await storeWhole(sha, files))) {
        // Its folder is there already (stored in part before, or by a store of the same bytes
        // at the same time): each file replaced whole.
        await mkdir(dir, { recursive: true });
        await Promise.all(files.map(([name, data, durable]) => writeAtomic(dir, name, data, durable)));
        await syncDirectory(dir);
      }
      return {
        sha256: sha,
        sourceType: kind,
        width: rendered.width,
        height: rendered.height,
        bytes: rendered.original.length,
        files: relativeFiles(sha),
        ...features,
      };
    },

    ensureDisplayFiles,

    hasDisplayFiles(sha256: string): Promise<boolean> {
      if (!SHA256_HEX.test(sha256)) return Promise.reject(new RangeError('not a sha256 content address'));
      return hasDisplayFiles(sha256);
    },

    async remove(sha256: string): Promise<void> {
      if (!SHA256_HEX.test(sha256)) throw new RangeError('not a sha256 content address');
      await rm(shaDir(sha256), { recursive: true, force: true });
    },

    async sweep(isReferenced, minAgeMs = 3_600_000) {
      const removed: string[] = [];
      const cutoff = Date.now() - minAgeMs;
      const list = async (dir: string) => {
        try {
          return await readdir(dir, { withFileTypes: true });
        } catch (error) {
          if (isNotFound(error)) return [];
          throw error;
        }
      };
      for (const prefix of await list(root)) {
        if (!prefix.isDirectory() || !/^[0-9a-f]{2}$/.test(prefix.name)) continue;
        for (const entry of await list(path.join(root, prefix.name))) {
          const sha = entry.name;
          if (entry.isDirectory() && sha.startsWith('.') && sha.endsWith('.tmp')) {
            // A store's staging folder (see storeWhole) whose writer died before its rename.
            const staging = path.join(root, prefix.name, sha);
            const stagingStat = await stat(staging).catch(() => null);
            if (!stagingStat || (stagingStat.mtimeMs >= cutoff && !writerIsGone(sha))) continue;
            await rm(staging, { recursive: true, force: true });
            removed.push(`${prefix.name}/${sha}`);
            continue;
          }
          if (!entry.isDirectory() || !SHA256_HEX.test(sha) || !sha.startsWith(prefix.name)) continue;
          const dir = path.join(root, prefix.name, sha);
          const dirStat = await stat(dir).catch(() => null);
          if (!dirStat) continue;
          if (!isReferenced(sha) && dirStat.mtimeMs < cutoff) {
            await rm(dir, { recursive: true, force: true });
            removed.push(`${prefix.name}/${sha}`);
            continue;
          }
          // Leftovers of writes that died between open and rename; young ones may still be in flight.
          for (const file of await list(dir)) {
            if (!file.isFile() || !file.name.endsWith('.tmp')) continue;
            const filePath = path.join(dir, file.name);
            const fileStat = await stat(filePath).catch(() => null);
            if (!fileStat || (fileStat.mtimeMs >= cutoff && !writerIsGone(file.name))) continue;
            await unlink(filePath).catch((error) => {
              if (!isNotFound(error)) throw error;
            });
            removed.push(`${prefix.name}/${sha}/${file.name}`);
          }
        }
      }
      if (removed.length > 0) log.info({ count: removed.length }, 'media: swept unreferenced files');
      return { removed };
    },

    absolutePath(relativePath: string): string {
      const absolute = path.resolve(root, relativePath);
      if (absolute !== root && !absolute.startsWith(root + path.sep)) {
        throw new RangeError('path is outside the media directory');
      }
      return absolute;
    },
  };
}
