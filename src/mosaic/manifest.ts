import type { LibraryPhoto } from './library.ts';
import type { Layout } from './render.ts';

export interface ManifestCell {
  cell: number;
  col: number;
  row: number;
  /** Pixel rectangle in the output image. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** null for an empty cell (a collage's last row). */
  postId: number | null;
  /**
   * Present when the cell shows a square part of the photo (see the build's `crop`): its left
   * and top edges and its side, as parts (0–1) of the side of the photo's centred square.
   */
  crop?: { x: number; y: number; size: number };
}

export interface ManifestPost {
  postId: number;
  mediaId: number;
  author: string;
  handle: string | null;
  authorUrl: string | null;
  network: string;
  url: string | null;
  postedAt: string;
  consentPrint: boolean;
  /** Cells showing this post, ascending. */
  cells: number[];
}

export interface Manifest {
  version: 1;
  kind: 'mosaic' | 'collage';
  image: string;
  target: string | null;
  width: number;
  height: number;
  cols: number;
  rows: number;
  cellWidth: number;
  cellHeight: number;
  blend: number;
  /** True when every photo shown has its author's consent to print. */
  printConsent: boolean;
  cells: ManifestCell[];
  /** Every post shown, by post id ascending. */
  posts: ManifestPost[];
}

export function buildManifest(args: {
  kind: Manifest['kind'];
  image: string;
  target: string | null;
  layout: Layout;
  blend: number;
  assignment: Int32Array;
  photos: LibraryPhoto[];
  /** Per cell, the part of its photo it shows (absent or undefined: the whole photo). */
  crops?: ReadonlyArray<ManifestCell['crop']>;
}): Manifest {
  const { layout, assignment, photos } = args;
  const { cols, rows, cellWidth, cellHeight } = layout;
  const byPhoto = new Map<number, ManifestPost>();
  const cells: ManifestCell[] = [];
  for (let cell = 0; cell < cols * rows; cell++) {
    const p = assignment[cell] as number;
    const photo = p >= 0 ? photos[p] : undefined;
    const col = cell % cols;
    const row = (cell - col) / cols;
    cells.push({
      cell,
      col,
      row,
      x: col * cellWidth,
      y: row * cellHeight,
      width: cellWidth,
      height: cellHeight,
      postId: photo?.postId ?? null,
      ...(photo && args.crops?.[cell] ? { crop: args.crops[cell] } : {}),
    });
    if (!photo) continue;
    let post = byPhoto.get(p);
    if (!post) {
      post = {
        postId: photo.postId,
        mediaId: photo.mediaId,
        author: photo.authorName,
        handle: photo.authorHandle,
        authorUrl: photo.authorUrl,
        network: photo.network,
        url: photo.url,
        postedAt: photo.postedAt,
        consentPrint: photo.consentPrint,
        cells: [],
      };
      byPhoto.set(p, post);
    }
    post.cells.push(cell);
  }
  const posts = [...byPhoto.values()].sort((a, b) => a.postId - b.postId);
  return {
    version: 1,
    kind: args.kind,
    image: args.image,
    target: args.target,
    width: cols * cellWidth,
    height: rows * cellHeight,
    cols,
    rows,
    cellWidth,
    cellHeight,
    blend: args.blend,
    printConsent: posts.every((p) => p.consentPrint),
    cells,
    posts,
  };
}

/**
 * A field for a spreadsheet: quoted when needed, and names a supporter chose that start like a
 * formula (=, +, -, @, tab, CR) get a leading apostrophe so a spreadsheet shows them as text.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function manifestCsv(manifest: Manifest): string {
  const posts = new Map(manifest.posts.map((p) => [p.postId, p]));
  const lines = ['cell,col,row,x,y,width,height,post_id,author,handle,network,url,crop'];
  for (const c of manifest.cells) {
    const p = c.postId === null ? undefined : posts.get(c.postId);
    lines.push(
      [
        c.cell,
        c.col,
        c.row,
        c.x,
        c.y,
        c.width,
        c.height,
        c.postId,
        p?.author ?? null,
        p?.handle ?? null,
        p?.network ?? null,
        p?.url ?? null,
        // The part shown, as in the JSON: "x y size" (parts of the photo's side).
        c.crop ? `${c.crop.x} ${c.crop.y} ${c.crop.size}` : null,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface Supporter {
  name: string;
  handle: string | null;
  network: string;
  url: string | null;
  postIds: number[];
}

/** Everyone shown, once each (by network and handle, or name when there is no handle), by name. */
export function supporters(manifest: Manifest): Supporter[] {
  const byKey = new Map<string, Supporter>();
  for (const p of manifest.posts) {
    const key = `${p.network}\u0000${(p.handle ?? p.author).toLowerCase()}`;
    const s = byKey.get(key);
    if (s) s.postIds.push(p.postId);
    else
      byKey.set(key, {
        name: p.author,
        handle: p.handle,
        network: p.network,
        url: p.authorUrl,
        postIds: [p.postId],
      });
  }
  const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
  return [...byKey.values()].sort(
    (a, b) => collator.compare(a.name, b.name) || (a.postIds[0] ?? 0) - (b.postIds[0] ?? 0),
  );
}
