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

export declare function jpegTile(bytes: Uint8Array, side: number): JpegTile | null;
