import { describe, expect, it } from 'vitest';
import {
  boxSums,
  boxThumbnail,
  computeFeatures,
  hammingDistance,
  labGrid,
  meanColor,
  phash,
  type RawPixels,
  srgbToLab,
} from '../../src/media/features.ts';
import { sharp } from '../../src/media/sharp-loaders.ts';
import { blobImage } from './helpers.ts';

function flat(width: number, height: number, rgb: [number, number, number]): RawPixels {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, width, height, channels: 3 };
}

async function raw(image: { data: Buffer; info: { width: number; height: number; channels: number } }) {
  return {
    data: image.data,
    width: image.info.width,
    height: image.info.height,
    channels: image.info.channels,
  };
}

describe('meanColor', () => {
  it('is the colour of a flat image', () => {
    expect(meanColor(flat(64, 64, [255, 0, 0]))).toBe('#ff0000');
    expect(meanColor(flat(10, 7, [18, 52, 86]))).toBe('#123456');
  });

  it('averages the encoded values of all pixels', () => {
    const img = flat(2, 1, [0, 0, 0]);
    img.data.set([200, 100, 50], 3);
    expect(meanColor(img)).toBe('#643219');
  });

  it('replicates grey and ignores alpha', () => {
    expect(meanColor({ data: new Uint8Array([128, 128]), width: 2, height: 1, channels: 1 })).toBe('#808080');
    expect(meanColor({ data: new Uint8Array([0, 0, 255, 0]), width: 1, height: 1, channels: 4 })).toBe(
      '#0000ff',
    );
  });
});

describe('srgbToLab', () => {
  it('matches the reference values for the sRGB primaries and white (D65)', () => {
    const close = (got: number[], want: number[]) => {
      got.forEach((v, i) => {
        expect(v).toBeCloseTo(want[i] ?? NaN, 2);
      });
    };
    close(srgbToLab(255, 0, 0), [53.24, 80.09, 67.2]);
    close(srgbToLab(0, 255, 0), [87.73, -86.18, 83.18]);
    close(srgbToLab(0, 0, 255), [32.3, 79.19, -107.86]);
    close(srgbToLab(255, 255, 255), [100, 0, 0]);
    close(srgbToLab(0, 0, 0), [0, 0, 0]);
    // Mid grey: the gamma is undone before the conversion (without it L would be ~53.4).
    close(srgbToLab(119, 119, 119), [50.03, 0, 0]);
  });
});

describe('labGrid', () => {
  it('gives every cell the Lab of a flat red image', () => {
    const grid = labGrid(flat(256, 256, [255, 0, 0]));
    expect(grid).toHaveLength(48);
    for (let i = 0; i < 48; i += 3) {
      expect(grid[i]).toBeCloseTo(53.24, 2);
      expect(grid[i + 1]).toBeCloseTo(80.09, 2);
      expect(grid[i + 2]).toBeCloseTo(67.2, 2);
    }
  });

  it('is row-major and rounded to two decimals', () => {
    // Top half white, bottom-right quarter black, bottom-left quarter blue.
    const img = flat(8, 8, [255, 255, 255]);
    for (let y = 4; y < 8; y++) {
      for (let x = 0; x < 8; x++) img.data.set(x < 4 ? [0, 0, 255] : [0, 0, 0], (y * 8 + x) * 3);
    }
    const grid = labGrid(img);
    const cell = (row: number, col: number) => grid.slice((row * 4 + col) * 3, (row * 4 + col) * 3 + 3);
    expect(cell(0, 0)).toEqual([100, 0, 0]);
    expect(cell(1, 3)).toEqual([100, 0, 0]);
    expect(cell(2, 0)).toEqual([32.3, 79.19, -107.86]);
    expect(cell(3, 3)).toEqual([0, 0, 0]);
    for (const v of grid) expect(Math.round(v * 100) / 100).toBe(v);
  });

  it('averages Lab per pixel', () => {
    // Half black, half white in every cell: mean L is 50, not L of the mean colour (~53.6).
    const img = flat(8, 8, [0, 0, 0]);
    for (let i = 0; i < 64; i += 2) img.data.set([255, 255, 255], i * 3);
    const grid = labGrid(img);
    for (let i = 0; i < 48; i += 3) expect(grid[i]).toBeCloseTo(50, 2);
  });
});

describe('phash', () => {
  it('is 16 hex digits and deterministic', async () => {
    const img = await raw(await blobImage(1));
    expect(phash(img)).toMatch(/^[0-9a-f]{16}$/);
    expect(phash(img)).toBe(phash(img));
  });

  it('barely changes for a slightly resized copy, a lot for another image', async () => {
    const a = await blobImage(7, 256, 256);
    const resized = await sharp(a.data, { raw: { width: 256, height: 256, channels: 3 } })
      .resize(240, 240)
      .jpeg({ quality: 80 })
      .toBuffer();
    const copy = await sharp(resized).raw().toBuffer({ resolveWithObject: true });
    const hashA = phash(await raw(a));
    const hashCopy = phash(await raw(copy));
    expect(hammingDistance(hashA, hashCopy)).toBeLessThanOrEqual(6);
    for (const seed of [8, 9, 10]) {
      const other = phash(await raw(await blobImage(seed)));
      expect(hammingDistance(hashA, other)).toBeGreaterThanOrEqual(16);
    }
  });

  it('sets half the bits around the median', async () => {
    const bits = hammingDistance(phash(await raw(await blobImage(3))), '0000000000000000');
    expect(bits).toBeGreaterThanOrEqual(28);
    expect(bits).toBeLessThanOrEqual(36);
  });
});

describe('hammingDistance', () => {
  it('counts differing bits', () => {
    expect(hammingDistance('0000000000000000', '0000000000000000')).toBe(0);
    expect(hammingDistance('ffffffffffffffff', '0000000000000000')).toBe(64);
    expect(hammingDistance('8000000000000001', '0000000000000000')).toBe(2);
    expect(hammingDistance('f0', '0f')).toBe(8);
    expect(hammingDistance('A0', 'a1')).toBe(1);
  });

  it('refuses hashes that cannot be compared', () => {
    expect(() => hammingDistance('ff', 'fff')).toThrow(RangeError);
    expect(() => hammingDistance('zz', 'ff')).toThrow(RangeError);
  });
});

describe('computeFeatures', () => {
  it('bundles the three', () => {
    const f = computeFeatures(flat(32, 32, [0, 0, 255]));
    expect(f.meanColor).toBe('#0000ff');
    expect(f.labGrid).toHaveLength(48);
    expect(f.phash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("sums each box's pixels per channel, for a tile and for an image larger than the kernel takes", () => {
    for (const [width, height] of [
      [256, 256],
      [96, 64],
      [1600, 1024],
    ] as const) {
      const data = new Uint8Array(width * height * 3);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 11)) & 255;
      const boxes = boxSums({ data, width, height, channels: 3 });
      const [bw, bh] = [width / 32, height / 32];
      expect(boxes?.area).toBe(bw * bh);
      for (const [bx, by] of [
        [0, 0],
        [31, 0],
        [17, 9],
        [31, 31],
      ] as const) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let y = by * bh; y < (by + 1) * bh; y++)
            for (let x = bx * bw; x < (bx + 1) * bw; x++) sum += data[(y * width + x) * 3 + c] as number;
          expect(boxes?.sums[(by * 32 + bx) * 3 + c], `${width}×${height} box (${bx}, ${by})`).toBe(sum);
        }
      }
    }
  });

  it('gives a 256 px tile the same answers in one pass of box sums as feature by feature', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const img = await raw(await blobImage(seed, 256, 256));
      const boxes = boxSums(img);
      expect(boxes).not.toBeNull();
      const features = computeFeatures(img, boxes);
      expect({ meanColor: features.meanColor, phash: features.phash }).toEqual({
        meanColor: meanColor(img),
        phash: phash(img),
      });
      // The Lab grid is the mean Lab of the 8×8 boxes rather than of the pixels: close, not equal.
      const perPixel = labGrid(img);
      expect(features.labGrid).toHaveLength(48);
      features.labGrid.forEach((v, i) => {
        expect(Math.abs(v - (perPixel[i] as number)), `labGrid[${i}]`).toBeLessThan(2);
      });
      // The 32×32 thumbnail is the mean of each 8×8 box.
      const thumb = boxThumbnail(boxes as NonNullable<typeof boxes>);
      let r = 0;
      for (let y = 8; y < 16; y++) for (let x = 24; x < 32; x++) r += img.data[(y * 256 + x) * 3] as number;
      expect(thumb.data[(1 * 32 + 3) * 3]).toBe(Math.round(r / 64));
    }
    // A flat tile has the same Lab either way, to the hundredth.
    const red = flat(256, 256, [255, 0, 0]);
    expect(computeFeatures(red, boxSums(red)).labGrid).toEqual(labGrid(red));
    // Sides that are not multiples of 32, or grey pixels: measured feature by feature.
    expect(boxSums(flat(100, 60, [1, 2, 3]))).toBeNull();
    expect(boxSums({ data: new Uint8Array(64 * 64), width: 64, height: 64, channels: 1 })).toBeNull();
  });

  it('rejects a buffer too small for its dimensions', () => {
    expect(() => meanColor({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 })).toThrow(
      RangeError,
    );
  });
});
