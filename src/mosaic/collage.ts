import type { LibraryPhoto } from './library.ts';

/** Mean Lab of a photo's 4×4 grid. */
function meanLab(grid: number[]): [number, number, number] {
  let l = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < grid.length; i += 3) {
    l += grid[i] ?? 0;
    a += grid[i + 1] ?? 0;
    b += grid[i + 2] ?? 0;
  }
  const n = grid.length / 3;
  return [l / n, a / n, b / n];
}

/** Below this chroma a photo reads as grey; hue order would scatter greys among colours. */
const GREY_CHROMA = 8;

/**
 * The order of a plain grid: by time (oldest first, the campaign's story), or by colour (a
 * rainbow of hues, then the greys from light to dark). Ties fall back to the post id, so the
 * order is stable.
 */
export function collageOrder(photos: LibraryPhoto[], by: 'time' | 'colour'): number[] {
  const idx = photos.map((_, i) => i);
  if (by === 'time') {
    return idx.sort((i, j) => {
      const a = photos[i] as LibraryPhoto;
      const b = photos[j] as LibraryPhoto;
      return a.postedAt < b.postedAt ? -1 : a.postedAt > b.postedAt ? 1 : a.postId - b.postId;
    });
  }
  const keys = photos.map((p) => {
    const [l, a, b] = meanLab(p.labGrid);
    const chroma = Math.hypot(a, b);
    const hue = (Math.atan2(b, a) * 180) / Math.PI;
    // Start the wheel at magenta-red (−30°) so reds are not split between the two ends.
    return chroma < GREY_CHROMA ? { grey: 1, k: -l } : { grey: 0, k: (hue + 390) % 360 };
  });
  return idx.sort((i, j) => {
    const a = keys[i] as { grey: number; k: number };
    const b = keys[j] as { grey: number; k: number };
    return (
      a.grey - b.grey || a.k - b.k || (photos[i] as LibraryPhoto).postId - (photos[j] as LibraryPhoto).postId
    );
  });
}
