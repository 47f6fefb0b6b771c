import sharp from 'sharp';

/** A photo-like JPEG: a colour gradient with noise, different for every seed. */
export async function photoJpeg(seed: number, width = 640, height = 480): Promise<Buffer> {
  const hue = (seed * 47) % 360;
  const svgFree = Buffer.alloc(width * height * 3);
  let state = seed * 2654435761 + 1;
  const rand = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 0xffffffff;
  };
  const [r0, g0, b0] = [Math.cos(hue) * 100 + 128, Math.sin(hue) * 100 + 128, ((seed * 31) % 200) + 30];
  const blobs = Array.from({ length: 6 }, () => ({
    x: rand() * width,
    y: rand() * height,
    r: 40 + rand() * 120,
    c: rand() * 255,
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r ** 2) v = b.c;
      const i = (y * width + x) * 3;
      svgFree[i] = Math.min(255, (r0 * x) / width + v * 0.5 + rand() * 20);
      svgFree[i + 1] = Math.min(255, (g0 * y) / height + v * 0.3 + rand() * 20);
      svgFree[i + 2] = Math.min(255, b0 + v * 0.2 + rand() * 20);
    }
  }
  return sharp(svgFree, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

export async function flatJpeg(
  color: { r: number; g: number; b: number },
  width = 64,
  height = 64,
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** Raw RGB noise from a seed: every pixel different, so any misplaced weight in a resize shows. */
export function noisePixels(width: number, height: number, seed = 1): Uint8Array {
  let s = seed;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return data;
}
