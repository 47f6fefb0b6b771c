import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../events/bus.ts';
import type { MosaicOptions } from './build.ts';

export const MOSAIC_STATUSES = ['building', 'ready', 'failed'] as const;
export type MosaicStatus = (typeof MOSAIC_STATUSES)[number];

/**
 * The options a build was made with, kept so that a stale mosaic can be rebuilt in one click:
 * the build's own options, less what cannot be stored (a target given as bytes, tuning knobs).
 */
export type StoredMosaicOptions = Pick<
  MosaicOptions,
  | 'out'
  | 'cells'
  | 'grid'
  | 'width'
  | 'blend'
  | 'includeUnconsented'
  | 'collage'
  | 'maxRepeats'
  | 'minDistance'
  | 'crop'
  | 'deepZoom'
  | 'viewerUrl'
  | 'title'
> & { target?: string };

export interface MosaicRecord {
  id: string;
  createdAt: string;
  finishedAt: string | null;
  status: MosaicStatus;
  /** A post it shows was removed (or is no longer approved) since it was built. */
  stale: boolean;
  staleReason: string | null;
  options: StoredMosaicOptions;
  files: {
    image: string;
    manifestJson: string;
    manifestCsv: string;
    credits: string;
    viewer: string | null;
  } | null;
  postIds: number[];
  stats: Record<string, number | string | boolean> | null;
  error: string | null;
}

/**
 * Where mosaics are recorded. Meant to become a `mosaics` table (plus `mosaic_posts` for the
 * stale look-up) in the Drizzle schema; until then a folder per mosaic under DATA_DIR/mosaics.
 */
export interface MosaicStore {
  create(options: StoredMosaicOptions): Promise<MosaicRecord>;
  get(id: string): Promise<MosaicRecord | null>;
  list(): Promise<MosaicRecord[]>;
  update(id: string, patch: Partial<Omit<MosaicRecord, 'id' | 'createdAt'>>): Promise<MosaicRecord>;
  /** Marks every mosaic showing one of these posts as stale; returns their ids. */
  markStale(postIds: number[], reason: string): Promise<string[]>;
  /** The folder a build of this mosaic writes into when it has no explicit output. */
  dir(id: string): string;
}

const ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;

/** Sortable by time, unguessable enough that a viewer URL does not enumerate the others. */
function newId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${t.slice(0, 8)}-${t.slice(8)}-${randomBytes(3).toString('hex')}`;
}

export function fileMosaicStore(dataDir: string): MosaicStore {
  const root = join(dataDir, 'mosaics');
  const recordFile = (id: string) => {
    if (!ID.test(id)) throw new RangeError(`not a mosaic id: ${id}`);
    return join(root, id, 'record.json');
  };
  const write = async (record: MosaicRecord): Promise<void> => {
    const file = recordFile(record.id);
    await mkdir(join(root, record.id), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, file);
  };
  const get = async (id: string): Promise<MosaicRecord | null> => {
    if (!ID.test(id)) return null;
    try {
      return JSON.parse(await readFile(recordFile(id), 'utf8')) as MosaicRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };
  // Two updates of one record must not interleave read and write (progress vs. stale marking).
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const store: MosaicStore = {
    dir: (id) => join(root, id),
    create: (options) =>
      serial(async () => {
        const record: MosaicRecord = {
          id: newId(),
          createdAt: new Date().toISOString(),
          finishedAt: null,
          status: 'building',
          stale: false,
          staleReason: null,
          options,
          files: null,
          postIds: [],
          stats: null,
          error: null,
        };
        await write(record);
        return record;
      }),
    get,
    async list() {
      const names = await readdir(root).catch(() => [] as string[]);
      const records = await Promise.all(names.filter((n) => ID.test(n)).map(get));
      return records.filter((r): r is MosaicRecord => r !== null).sort((a, b) => b.id.localeCompare(a.id));
    },
    update: (id, patch) =>
      serial(async () => {
        const record = await get(id);
        if (!record) throw new Error(`no mosaic ${id}`);
        const next = { ...record, ...patch, id: record.id, createdAt: record.createdAt };
        await write(next);
        return next;
      }),
    markStale: (postIds, reason) =>
      serial(async () => {
        const wanted = new Set(postIds);
        const marked: string[] = [];
        for (const record of await store.list()) {
          if (record.stale || !record.postIds.some((p) => wanted.has(p))) continue;
          await write({ ...record, stale: true, staleReason: reason });
          marked.push(record.id);
        }
        return marked;
      }),
  };
  return store;
}

/**
 * Keeps mosaics honest: when a post leaves the approved set (removal, takedown, a moderator
 * changing their mind) every mosaic showing it is marked stale. Returns the unsubscriber.
 */
export function markStaleOnRemoval(
  bus: EventBus,
  store: MosaicStore,
  onError?: (e: unknown) => void,
): () => void {
  const fail = onError ?? (() => undefined);
  const offRemoved = bus.on('post.removed', ({ postId }) => {
    store.markStale([postId], `post ${postId} was removed`).catch(fail);
  });
  const offChanged = bus.on('post.changed', ({ postId, from, to }) => {
    if (from === 'approved' && to !== 'approved')
      store.markStale([postId], `post ${postId} is now ${to}`).catch(fail);
  });
  return () => {
    offRemoved();
    offChanged();
  };
}
