/**
 * Perceptual hashes of every stored photo, held in memory so that checking a new photo
 * costs a scan of two 32-bit words per photo rather than a query per ingest.
 * A hit is only a hint for moderators: near-duplicates are flagged, never dropped.
 */
export const NEAR_DUPLICATE_DISTANCE = 6;

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export interface NearDuplicateIndex {
  add(postId: number, phash: string): void;
  /** The earliest post whose photo is within the distance, or null. */
  find(phash: string): number | null;
}

export function createNearDuplicateIndex(
  load: () => Array<{ postId: number; phash: string }>,
  maxDistance = NEAR_DUPLICATE_DISTANCE,
): NearDuplicateIndex {
  let hi: number[] | null = null;
  let lo: number[] = [];
  let ids: number[] = [];

  function ensureLoaded(): void {
    if (hi) return;
    hi = [];
    lo = [];
    ids = [];
    for (const row of load()) push(row.postId, row.phash);
  }

  function push(postId: number, phash: string): void {
    if (!/^[0-9a-f]{16}$/i.test(phash) || !hi) return;
    hi.push(Number.parseInt(phash.slice(0, 8), 16) | 0);
    lo.push(Number.parseInt(phash.slice(8), 16) | 0);
    ids.push(postId);
  }

  return {
    add(postId, phash) {
      ensureLoaded();
      push(postId, phash);
    },
    find(phash) {
      ensureLoaded();
      if (!/^[0-9a-f]{16}$/i.test(phash) || !hi) return null;
      const h = Number.parseInt(phash.slice(0, 8), 16) | 0;
      const l = Number.parseInt(phash.slice(8), 16) | 0;
      let best: number | null = null;
      for (let i = 0; i < ids.length; i++) {
        const d = popcount32((hi[i] as number) ^ h) + popcount32((lo[i] as number) ^ l);
        if (d <= maxDistance) {
          const id = ids[i] as number;
          if (best === null || id < best) best = id;
        }
      }
      return best;
    },
  };
}
