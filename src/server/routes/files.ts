import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { AppContext } from '../../context.ts';
import { log } from '../../log.ts';
import { isPublicMedia } from '../../posts/post-queries.ts';
import type { AppEnv } from '../env.ts';

const MEDIA_PATH = /^([0-9a-f]{2})\/([0-9a-f]{64})\/(original\.jpg|wall\.webp|thumb\.webp|tile\.jpg)$/;
// Left for later by a bulk import (see StoreOptions.display), made on first request.
const DISPLAY_FILES = new Set(['wall.webp', 'thumb.webp', 'tile.jpg']);
const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  webp: 'image/webp',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  woff2: 'font/woff2',
  png: 'image/png',
};

export const PUBLIC_DIR = fileURLToPath(new URL('../../../public', import.meta.url));

/**
 * Photo files by content address. Approved photos are public and immutable (the address is
 * the content); the rest only for organizers, never cached by shared caches.
 */
export function mediaRoutes(ctx: AppContext) {
  return new Hono<AppEnv>().get('/*', async (c) => {
    const relative = c.req.path.replace(/^\/media\//, '');
    const match = MEDIA_PATH.exec(relative);
    if (!match || match[1] !== match[2]?.slice(0, 2)) return c.json({ error: 'no such file' }, 404);
    const isPublic = isPublicMedia(ctx.db, match[2] as string);
    if (!isPublic && !c.get('organizer')) return c.json({ error: 'no such file' }, 404);
    const file = ctx.media.absolutePath(relative);
    let info = await stat(file).catch(() => null);
    if (!info && DISPLAY_FILES.has(match[3] as string)) {
      // Imported in bulk: the display files are made from the original on first request.
      await ctx.media.ensureDisplayFiles(match[2] as string).catch((error: unknown) => {
        log.warn({ sha256: match[2], err: String(error) }, 'media: display files could not be made');
      });
      info = await stat(file).catch(() => null);
    }
    if (!info?.isFile()) return c.json({ error: 'no such file' }, 404);
    const ext = relative.split('.').pop() as string;
    const etag = `"${match[2]?.slice(0, 16)}-${match[3]}"`;
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, {
      headers: {
        'Content-Type': TYPES[ext] ?? 'application/octet-stream',
        'Content-Length': String(info.size),
        ETag: etag,
        'Cache-Control': isPublic ? 'public, max-age=31536000, immutable' : 'private, max-age=600',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
}

/** The app's own JS, CSS, fonts and icons: nothing comes from a CDN. */
export function assetRoutes() {
  const cache = new Map<string, Buffer>();
  return new Hono<AppEnv>().get('/:name{[a-z0-9][a-z0-9.-]*\\.(js|css|svg|woff2|png)}', async (c) => {
    const name = c.req.param('name');
    let body = cache.get(name);
    if (!body) {
      body = await readFile(join(PUBLIC_DIR, name)).catch(() => undefined);
      if (!body) return c.json({ error: 'no such asset' }, 404);
      if (process.env.NODE_ENV === 'production') cache.set(name, body);
    }
    const ext = name.split('.').pop() as string;
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': TYPES[ext] ?? 'application/octet-stream',
      'Cache-Control': 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    });
  });
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" fill="none" stroke="#0b1020" stroke-width="2.5"/><path d="M12 2v20M12 12l-7 7M12 12l7 7" stroke="#0b1020" stroke-width="2.5" fill="none"/></svg>`;

/** A peace sign, so browsers asking for an icon get one instead of a 404 in every log. */
export function faviconRoute() {
  return new Hono().get('/favicon.ico', (c) =>
    c.body(FAVICON, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=86400' }),
  );
}
