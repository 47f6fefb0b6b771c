import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { Organizer } from '../../auth/auth.ts';
import type { AppContext } from '../../context.ts';
import type { MosaicPhase, MosaicProgress } from '../../mosaic/build.ts';
import type { MosaicJobs } from '../../mosaic/jobs.ts';
import type { MosaicRecord, MosaicStore } from '../../mosaic/registry.ts';
import type { AppEnv } from '../env.ts';
import { securityHeaders } from '../middleware/security.ts';
import { requireRole } from '../middleware/session.ts';
import { encodeEvent, SseHub } from '../sse.ts';
import { zValidator } from '../validate.ts';
import { Shell } from '../views/admin-shell.tsx';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.dzi': 'application/xml',
  '.webp': 'image/webp',
};

/** Rough share of a build's time per phase, for one progress bar over the whole build. */
const PHASES: Array<[MosaicPhase, number]> = [
  ['prepare', 5],
  ['tiles', 40],
  ['match', 15],
  ['render', 10],
  ['encode', 20],
  ['viewer', 10],
];

export function overallPercent(progress: MosaicProgress | null | undefined): number {
  if (!progress) return 0;
  if (progress.phase === 'done') return 100;
  let before = 0;
  for (const [phase, weight] of PHASES) {
    if (phase === progress.phase)
      return Math.min(99, Math.round(before + (weight * progress.done) / Math.max(1, progress.total)));
    before += weight;
  }
  return 0;
}

const MOSAIC_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;
const MAX_TARGET_BYTES = 30 * 1024 * 1024;

const buildForm = z.object({
  cells: z.coerce
    .number()
    .int()
    .min(4, 'cells: at least 4')
    .max(100_000, 'cells: at most 100,000')
    .default(7500),
  width: z.coerce
    .number()
    .int()
    .min(200, 'width: at least 200 px')
    .max(20_000, 'width: at most 20,000 px')
    .default(8000),
  blend: z.coerce.number().int().min(0, 'blend: 0–100').max(100, 'blend: 0–100').default(0),
  // Empty: as few uses as the cells need (4 for 7,500 cells and 2,000 photos). More buys likeness.
  maxRepeats: z
    .union([
      z.literal(''),
      z.coerce
        .number()
        .int('most uses of a photo: a whole number')
        .min(1, 'most uses of a photo: at least 1')
        .max(100_000, 'most uses of a photo: at most 100,000'),
    ])
    .default(''),
  // The part of a photo a cell may show (each photo still whole once); 100: whole photos only.
  crop: z.coerce
    .number()
    .int('crop: a whole number of percent')
    .min(1, 'crop: 1–100 %')
    .max(100, 'crop: 1–100 %')
    .default(35),
  format: z.enum(['jpg', 'png', 'tif']).default('jpg'),
  collage: z.enum(['', 'time', 'colour']).default(''),
  includeUnconsented: z.enum(['on']).optional(),
  title: z.string().trim().max(200).optional(),
});

/** A file of a mosaic's folder, never outside it. */
async function serveFile(c: Context, root: string, relative: string, cache: string) {
  const absolute = resolve(root, relative);
  if (absolute !== root && !absolute.startsWith(root + sep)) return c.json({ error: 'no such file' }, 404);
  const info = await stat(absolute).catch(() => null);
  if (!info?.isFile()) return c.json({ error: 'no such file' }, 404);
  return new Response(Readable.toWeb(createReadStream(absolute)) as ReadableStream, {
    headers: {
      'Content-Type': TYPES[extname(absolute).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(info.size),
      'Cache-Control': cache,
      'X-Content-Type-Options': 'nosniff',
    },
  });
}

function sniffTarget(bytes: Uint8Array): boolean {
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  return jpeg || png;
}

export function mosaicRoutes(ctx: AppContext, store: MosaicStore, jobs: MosaicJobs) {
  const app = new Hono<AppEnv>();
  const hub = new SseHub();
  jobs.subscribe((job) => hub.broadcast('job', { ...job, percent: overallPercent(job.progress) }));

  const withJob = (record: MosaicRecord) => {
    const job = jobs.get(record.id);
    return { ...record, job: job ? { ...job, percent: overallPercent(job.progress) } : null };
  };
  const viewerRoot = async (id: string) => {
    if (!MOSAIC_ID.test(id)) return null;
    const record = await store.get(id);
    return record?.status === 'ready' && record.files?.viewer ? record.files.viewer : null;
  };

  // The interactive viewer is public: the QR code on the printed credits leads to it.
  app.use('/mosaics/*', securityHeaders(["'none'"]));
  app.get('/mosaics/:id/viewer', (c) => c.redirect(`/mosaics/${c.req.param('id')}/viewer/`, 301));
  app.get('/mosaics/:id/viewer/*', async (c) => {
    const root = await viewerRoot(c.req.param('id'));
    if (!root) return c.json({ error: 'no such mosaic' }, 404);
    const rest = c.req.path.replace(/^\/mosaics\/[^/]+\/viewer\/?/, '') || 'index.html';
    return serveFile(c, root, decodeURIComponent(rest), 'public, max-age=300');
  });

  const admin = new Hono<AppEnv>();
  for (const path of ['/admin/mosaics', '/admin/mosaics/*', '/api/admin/mosaics', '/api/admin/mosaics/*']) {
    admin.use(path, requireRole('admin', 'moderator'));
  }

  admin.get('/admin/mosaics', async (c) => {
    const organizer = c.get('organizer') as Organizer;
    const records = (await store.list()).map(withJob);
    return c.html(
      <Shell
        title="Mosaics"
        organizer={organizer}
        current="/admin/mosaics"
        scripts={['admin.js', 'mosaics.js']}
      >
        <h1>Mosaics</h1>
        <p>
          A print mosaic uses only photos whose authors consented to print use, unless you tick the box (for
          on-screen use). Builds run in the background at low priority: the wall is not slowed.
        </p>
        <form
          id="mosaic-form"
          class="mosaic-form"
          method="post"
          action="/api/admin/mosaics"
          enctype="multipart/form-data"
        >
          <label>
            Target picture (JPEG or PNG; none: the built-in peace symbol)
            <input type="file" name="target" accept="image/jpeg,image/png" />
          </label>
          <label>
            Cells
            <input name="cells" type="number" min={4} max={100000} value="7500" />
          </label>
          <label>
            Width (px)
            <input name="width" type="number" min={200} max={20000} value="8000" />
          </label>
          <label>
            Blend toward the target (%)
            <input name="blend" type="number" min={0} max={100} value="0" />
          </label>
          <label>
            Most uses of one photo (empty: as few as the cells need; more looks closer to the target)
            <input name="maxRepeats" type="number" min={1} max={100000} placeholder="as few as needed" />
          </label>
          <label>
            Part of a photo a cell may show (% of its side; 35: closest to the target, each photo still shown
            whole once; 100: whole photos only, faster)
            <input name="crop" type="number" min={1} max={100} value="35" />
          </label>
          <label>
            Format
            <select name="format">
              <option value="jpg">JPEG</option>
              <option value="png">PNG</option>
              <option value="tif">TIFF</option>
            </select>
          </label>
          <label>
            Kind
            <select name="collage">
              <option value="">mosaic of the target</option>
              <option value="time">collage, by time</option>
              <option value="colour">collage, by colour</option>
            </select>
          </label>
          <label class="check">
            <input type="checkbox" name="includeUnconsented" /> include photos without print consent (screens
            only)
          </label>
          <button type="submit">Build</button>
        </form>
        <p id="message" class="message" role="status" />
        <table class="table" id="mosaics">
          <thead>
            <tr>
              <th>Built (UTC)</th>
              <th>Status</th>
              <th>Photos</th>
              <th>Downloads</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr data-id={r.id} class={r.stale ? 'bad' : ''}>
                <td>{r.createdAt.slice(0, 19).replace('T', ' ')}</td>
                <td>
                  <span class="state">{r.job?.status === 'running' ? 'building' : r.status}</span>
                  {r.stale ? <span class="pill">stale: {r.staleReason}</span> : null}{' '}
                  <progress max={100} value={r.job?.percent ?? 0} hidden={r.job?.status !== 'running'} />
                  {r.error ? <span class="error"> {r.error}</span> : null}
                </td>
                <td>{String(r.stats?.photosShown ?? '—')}</td>
                <td>
                  {r.status === 'ready' && r.files ? (
                    <>
                      <a href={`/admin/mosaics/${r.id}/file/image`}>image</a> ·{' '}
                      <a href={`/admin/mosaics/${r.id}/file/manifestJson`}>manifest JSON</a> ·{' '}
                      <a href={`/admin/mosaics/${r.id}/file/manifestCsv`}>CSV</a> ·{' '}
                      <a href={`/admin/mosaics/${r.id}/file/credits`}>credits</a>
                      {r.files.viewer ? (
                        <>
                          {' · '}
                          <a href={`/mosaics/${r.id}/viewer/`}>viewer</a>
                        </>
                      ) : null}
                    </>
                  ) : null}
                </td>
                <td>
                  <button type="button" data-rebuild={r.id}>
                    {r.stale ? 'Rebuild (stale)' : 'Rebuild'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Shell>,
    );
  });

  admin.get('/admin/mosaics/:id/file/:kind{image|manifestJson|manifestCsv|credits}', async (c) => {
    const id = c.req.param('id');
    const record = MOSAIC_ID.test(id) ? await store.get(id) : null;
    const path = record?.files?.[c.req.param('kind') as 'image' | 'manifestJson' | 'manifestCsv' | 'credits'];
    if (!record || !path) return c.json({ error: 'no such file' }, 404);
    const response = await serveFile(
      c,
      store.dir(id),
      path.startsWith(store.dir(id)) ? path.slice(store.dir(id).length + 1) : path,
      'private, no-store',
    );
    const name = path.split(sep).pop() ?? 'mosaic';
    if (c.req.param('kind') === 'image')
      response.headers.set('Content-Disposition', `attachment; filename="${name}"`);
    return response;
  });

  admin.get('/api/admin/mosaics', async (c) => c.json({ mosaics: (await store.list()).map(withJob) }));

  admin.get('/api/admin/mosaics/stream', () =>
    hub.open((client) => client.send(encodeEvent('hello', { at: new Date().toISOString() }))),
  );

  admin.post('/api/admin/mosaics', async (c) => {
    const body = await c.req.parseBody().catch(() => null);
    if (!body) return c.json({ error: 'the form could not be read' }, 400);
    const parsed = buildForm.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json(
        {
          error: issue?.message.includes(':') ? issue.message : `${issue?.path.join('.')}: ${issue?.message}`,
        },
        400,
      );
    }
    let target: string | undefined;
    const file = body.target;
    if (file instanceof File && file.size > 0) {
      if (file.size > MAX_TARGET_BYTES) return c.json({ error: 'target: at most 30 MB' }, 400);
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (!sniffTarget(bytes)) return c.json({ error: 'target: must be a JPEG or PNG picture' }, 400);
      const dir = join(ctx.settings.dataDir, 'mosaics', 'targets');
      await mkdir(dir, { recursive: true });
      target = join(
        dir,
        `${createHash('sha256').update(bytes).digest('hex')}${bytes[0] === 0xff ? '.jpg' : '.png'}`,
      );
      await writeFile(target, bytes);
    }
    const f = parsed.data;
    const id = await jobs.start({
      target,
      cells: f.cells,
      width: f.width,
      blend: f.blend,
      maxRepeats: f.maxRepeats === '' ? undefined : f.maxRepeats,
      crop: f.crop,
      format: f.format,
      collage: f.collage || undefined,
      includeUnconsented: f.includeUnconsented === 'on',
      title: f.title ?? ctx.campaign.title.en,
      viewerUrlFor: (id) =>
        `${ctx.campaign.wall.publicUrl ?? new URL(c.req.url).origin}/mosaics/${id}/viewer/`,
    });
    return c.json({ id }, 202);
  });

  admin.post(
    '/api/admin/mosaics/:id/rebuild',
    zValidator('param', z.object({ id: z.string().regex(MOSAIC_ID, 'not a mosaic id') })),
    async (c) => {
      const id = c.req.valid('param').id;
      if (!(await store.get(id))) return c.json({ error: 'no such mosaic' }, 404);
      await store.update(id, { stale: false, staleReason: null, status: 'building' });
      return c.json({ id: await jobs.rebuild(id) }, 202);
    },
  );

  app.route('/', admin);
  return { app, close: () => hub.close() };
}
