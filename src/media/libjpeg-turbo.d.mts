export declare class JpegDecodeError extends Error {
  readonly code: number;
  constructor(message: string, code: number);
}

export interface JpegTile {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

export declare class JpegTooLargeError extends Error {
  readonly width: number;
  readonly height: number;
  constructor(width: number, height: number);
}

export declare function jpegTile(bytes: Uint8Array, side: number, maxPixels?: number): JpegTile | null;
