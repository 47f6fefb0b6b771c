// The auction as it ran in JavaScript before its cell choice moved into the WebAssembly kernel
// (matcher.ts at 0eb987b): the reference the kernel's auction must match, assignment for
// assignment. Only the tests use it.
import { AUCTION_BIDS_PER_BIDDER, AUCTION_EPS, MinHeap } from '../../src/mosaic/matcher.ts';

/** `auction` of matcher.ts, in JavaScript. */
export function referenceAuction(
  cost: Float32Array,
  cells: number,
  photos: number,
  cap: number,
  cols: number,
  d2: number,
  cover: boolean,
  firstCost?: Float32Array,
  holdsFirst?: Uint8Array,
): Int32Array {
  const places = photos * cap;
  const bidders = places; // cells, then nobodies
  const price = new Float64Array(places);
  const owner = new Int32Array(places).fill(-1);
  const holds = new Int32Array(bidders).fill(-1);
  // Per photo, its cheapest place and the two lowest prices.
  const low1 = new Float64Array(photos);
  const low2 = new Float64Array(photos);
  const lowPlace = new Int32Array(photos);
  // With a cost of its own for first places: each photo's first place's price, and the lowest
  // of its others, so that a photo is weighed at what its places are worth to the cell.
  const firstPrice = new Float64Array(firstCost ? photos : 0);
  const restPrice = new Float64Array(firstCost ? photos : 0);
  const reprice = (p: number): void => {
    let a = Number.POSITIVE_INFINITY;
    let b = Number.POSITIVE_INFINITY;
    let at = -1;
    for (let s = p * cap; s < p * cap + cap; s++) {
      const v = price[s] as number;
      if (v < a) [b, a, at] = [a, v, s];
      else if (v < b) b = v;
    }
    low1[p] = a;
    low2[p] = b;
    lowPlace[p] = at;
    if (firstCost) {
      firstPrice[p] = price[p * cap] as number;
      let rest = Number.POSITIVE_INFINITY;
      for (let s = p * cap + 1; s < p * cap + cap; s++) rest = Math.min(rest, price[s] as number);
      restPrice[p] = rest;
    }
  };
  for (let p = 0; p < photos; p++) reprice(p);
  // Nobodies pick among the places open to them by price alone.
  const open = new MinHeap(places, price, (s) => !cover || s % cap !== 0);

  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < cost.length; i++) {
    const v = cost[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = Math.max(hi - lo, 1e-9);

  // The best and second-best choice of a bidder (values −cost − price), and the best place.
  let best = 0;
  let second = 0;
  let bestPlace = -1;
  /** Weighs photo p for cell i (at ix, iy) against best and second. */
  const consider = (i: number, p: number, ix: number, iy: number): void => {
    const c = cost[i * photos + p] as number;
    // The cheapest place bounds what any place of p is worth.
    if (-(low1[p] as number) - c <= second) return;
    let a: number;
    let b = Number.NEGATIVE_INFINITY;
    let at: number;
    let near = -1;
    let nearCount = 0;
    if (d2 > 0) {
      for (let s = p * cap; s < p * cap + cap; s++) {
        const o = owner[s] as number;
        if (o < 0 || o >= cells || o === i) continue;
        const ox = o % cols;
        const dx = ox - ix;
        const dy = (o - ox) / cols - iy;
        if (dx * dx + dy * dy < d2) {
          near = s;
          nearCount++;
        }
      }
    }
    if (nearCount > 1) return;
    if (firstCost) {
      // The first place has a cost of its own (the whole photo): weigh each place.
      const f = firstCost[i * photos + p] as number;
      a = Number.NEGATIVE_INFINITY;
      at = -1;
      for (let s = p * cap; s < p * cap + cap; s++) {
        if (nearCount === 1 && s !== near) continue;
        const v = -(price[s] as number) - (s === p * cap ? f : c);
        if (v > a) [b, a, at] = [a, v, s];
        else if (v > b) b = v;
      }
    } else if (nearCount === 1) {
      a = -(price[near] as number) - c;
      at = near;
    } else {
      a = -(low1[p] as number) - c;
      b = -(low2[p] as number) - c;
      at = lowPlace[p] as number;
    }
    if (a > best) {
      second = Math.max(best, b);
      best = a;
      bestPlace = at;
    } else if (a > second) second = a;
  };
  const hint = new Int32Array(cells).fill(-1);
  const choose = (i: number): void => {
    best = Number.NEGATIVE_INFINITY;
    second = Number.NEGATIVE_INFINITY;
    bestPlace = -1;
    if (i >= cells) {
      const s = open.top();
      best = -(price[s] as number);
      second = -open.second();
      bestPlace = s;
      return;
    }
    const ix = i % cols;
    const iy = (i - ix) / cols;
    // The photo that was its best last time first: what it is worth now lets most others be
    // passed over on their cost and lowest price alone.
    const h = hint[i] as number;
    if (h >= 0) consider(i, h, ix, iy);
    const row = i * photos;
    if (firstCost) {
      for (
        let p = worthMoreEither(cost, firstCost, row, restPrice, firstPrice, 0, photos, second);
        p < photos;
      ) {
        if (p !== h) consider(i, p, ix, iy);
        p = worthMoreEither(cost, firstCost, row, restPrice, firstPrice, p + 1, photos, second);
      }
    } else {
      for (let p = worthMore(cost, row, low1, 0, photos, second); p < photos; ) {
        if (p !== h) consider(i, p, ix, iy);
        p = worthMore(cost, row, low1, p + 1, photos, second);
      }
    }
    hint[i] = bestPlace < 0 ? -1 : Math.floor(bestPlace / cap);
  };
  const queue = new Int32Array(bidders + 1);
  let head = 0;
  let tail = 0;
  const push = (i: number): void => {
    queue[tail] = i;
    tail = tail === bidders ? 0 : tail + 1;
  };
  for (let i = 0; i < bidders; i++) push(i);
  const eps = range * AUCTION_EPS;
  for (let budget = AUCTION_BIDS_PER_BIDDER * bidders; head !== tail && budget > 0; budget--) {
    const i = queue[head] as number;
    head = head === bidders ? 0 : head + 1;
    choose(i);
    // Nothing this cell may take: the fill places it.
    if (bestPlace < 0) continue;
    const s = bestPlace;
    price[s] = (price[s] as number) + (second === Number.NEGATIVE_INFINITY ? 0 : best - second) + eps;
    const previous = owner[s] as number;
    owner[s] = i;
    holds[i] = s;
    if (previous >= 0) {
      holds[previous] = -1;
      push(previous);
    }
    reprice(Math.floor(s / cap));
    open.update(s);
  }
  const won = new Int32Array(cells).fill(-1);
  for (let i = 0; i < cells; i++) {
    const s = holds[i] as number;
    if (s >= 0) won[i] = Math.floor(s / cap);
    if (holdsFirst) holdsFirst[i] = s >= 0 && s % cap === 0 ? 1 : 0;
  }
  return won;
}

/**
 * The first photo from `p` whose cost in the cell (its row from `row`) and lowest price leave the
 * cell more than `bar`, or `photos`: the auction's hot loop, kept apart so that it compiles to a
 * tight scan.
 */
function worthMore(
  cost: Float32Array,
  row: number,
  low1: Float64Array,
  p: number,
  photos: number,
  bar: number,
): number {
  for (; p < photos; p++) if (-(low1[p] as number) - (cost[row + p] as number) > bar) return p;
  return photos;
}

/**
 * worthMore for an auction whose first places have a cost of their own (`first`): what photo p
 * is worth is the better of its first place and its cheapest other place.
 */
function worthMoreEither(
  cost: Float32Array,
  first: Float32Array,
  row: number,
  restPrice: Float64Array,
  firstPrice: Float64Array,
  p: number,
  photos: number,
  bar: number,
): number {
  for (; p < photos; p++) {
    if (
      -(restPrice[p] as number) - (cost[row + p] as number) > bar ||
      -(firstPrice[p] as number) - (first[row + p] as number) > bar
    ) {
      return p;
    }
  }
  return photos;
}
