/** The media pipeline's public shapes (implemented over sharp in ./media-repository.ts). */

export const IMAGE_KINDS = ['jpeg', 'png', 'webp', 'avif', 'gif', 'heic'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

export type MediaRejectionReason =
  | 'empty'
  | 'too-many-bytes'
  | 'too-many-pixels'
  | 'unsupported-type'
  | 'corrupt';

/** A photo the pipeline refuses; `message` says why in words a supporter or organizer understands. */
export class MediaRejectedError extends Error {
  constructor(
    readonly reason: MediaRejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'MediaRejectedError';
  }
}

export interface MediaLimits {
  /** Largest accepted input, in bytes (default 20 MiB). */
  maxBytes: number;
  /** Largest accepted image, in pixels, width × height (default 50 MP). */
  maxPixels: number;
}

export interface StoredImage {
  /** sha256 (hex) of the bytes as received: the content address of every file below. */
  sha256: string;
  sourceType: ImageKind;
  /** Of the upright (auto-oriented) original. */
  width: number;
  height: number;
  /** Size of the stored original, in bytes. */
  bytes: number;
  /** Paths relative to the media directory, with forward slashes. */
  files: { original: string; wall: string; thumb: string; tile: string };
  /** sRGB mean colour, '#rrggbb'. */
  meanColor: string;
  /** 4×4 grid of CIELAB means over the square tile, flattened row-major: [L, a, b, L, a, b, …] (48 numbers). */
  labGrid: number[];
  /** 64-bit DCT perceptual hash, 16 hex digits. */
  phash: string;
  /** The mosaic matcher's features of the tile: 10×10 luma, then 4×4 (a*, b*) (132 numbers). */
  mosaicGrid: number[];
}

export interface StoreOptions {
  /**
   * 'now' (default) writes the wall, thumb and tile files with the original. 'later' writes the
   * original and what a mosaic needs (the cell raster and tile luma, or the tile when those
   * cannot be made): a bulk import is then about 4× faster, and the wall, thumb and tile files
   * are made from the original on first request or by the background `media-display` task.
   */
  display?: 'now' | 'later';
  /**
   * The SHA-256 (hex) of the bytes, when the caller hashed them already: the content address
   * without hashing them a second time. Not checked; only the bytes' own hash may be given.
   */
  sha256?: string;
}

export interface MediaRepository {
  readonly mediaDir: string;
  readonly limits: MediaLimits;
  /**
   * Validates the bytes, decodes them under the pixel limit, auto-orients, strips metadata and
   * writes the original and its derivatives atomically under the content address. Idempotent:
   * the same bytes again reuse the files already there.
   * @throws MediaRejectedError when the bytes are not an acceptable photo.
   */
  store(bytes: Uint8Array, options?: StoreOptions): Promise<StoredImage>;
  /** Makes the wall, thumb and tile files from the stored original if they are missing (one render at a time per photo). */
  ensureDisplayFiles(sha256: string): Promise<void>;
  hasDisplayFiles(sha256: string): Promise<boolean>;
  /** Deletes every file of a content address (takedown, deletion at the source). */
  remove(sha256: string): Promise<void>;
  /** Removes temp files and content directories no media row refers to and older than `minAgeMs`. */
  sweep(isReferenced: (sha256: string) => boolean, minAgeMs?: number): Promise<{ removed: string[] }>;
  absolutePath(relativePath: string): string;
}
