import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDeepZoom } from './encode.ts';
import type { LibraryPhoto } from './library.ts';
import type { Manifest } from './manifest.ts';
import type { Rgb } from './target.ts';

const ASSETS = ['index.html', 'viewer.js', 'viewer.css'];

/** JSON safe inside a script file served as text/javascript or opened from disk. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The interactive mosaic: a Deep Zoom pyramid, the viewer page, its data (who is in which
 * cell) and each shown supporter's photo (their 256 px tile), all in one folder that works
 * offline, from a server, or opened as a file.
 */
export async function writeViewer(args: {
  dir: string;
  canvas: Rgb;
  /** The image file already written from the canvas, a cheaper pyramid source. */
  image?: string;
  manifest: Manifest;
  photos: LibraryPhoto[];
  /** Writes a photo's 256 px tile (a JPEG) to `out`. */
  writePhoto: (photo: LibraryPhoto, out: string) => Promise<void>;
}): Promise<{ index: string; dzi: string }> {
  const { dir, canvas, manifest } = args;
  await mkdir(dir, { recursive: true });
  const dzi = await writeDeepZoom(canvas, dir, args.image);
  await rm(join(dir, 'photos'), { recursive: true, force: true });
  await mkdir(join(dir, 'photos'), { recursive: true });
  const byPost = new Map(args.photos.map((p) => [p.postId, p]));
  // A few at a time: a photo whose tile.jpg a bulk import left for later is encoded here.
  let next = 0;
  const writeSome = async () => {
    while (next < manifest.posts.length) {
      const post = manifest.posts[next++];
      const photo = post && byPost.get(post.postId);
      if (post && photo) await args.writePhoto(photo, join(dir, 'photos', `${post.postId}.jpg`));
    }
  };
  await Promise.all(Array.from({ length: 4 }, writeSome));
  const index = new Map(manifest.posts.map((p, i) => [p.postId, i]));
  const data = {
    dzi: {
      width: manifest.width,
      height: manifest.height,
      tileSize: 254,
      overlap: 1,
      format: 'jpeg',
      url: 'mosaic_files/',
    },
    cols: manifest.cols,
    rows: manifest.rows,
    cellWidth: manifest.cellWidth,
    cellHeight: manifest.cellHeight,
    cells: manifest.cells.map((c) => (c.postId === null ? -1 : (index.get(c.postId) ?? -1))),
    posts: manifest.posts.map((p) => ({
      postId: p.postId,
      author: p.author,
      handle: p.handle,
      network: p.network,
      url: p.url,
      photo: `photos/${p.postId}.jpg`,
      cells: p.cells,
    })),
  };
  await writeFile(join(dir, 'data.js'), `window.MOSAIC = ${scriptJson(data)};\n`);
  for (const asset of ASSETS) await copyFile(new URL(`./viewer/${asset}`, import.meta.url), join(dir, asset));
  return { index: join(dir, 'index.html'), dzi };
}
