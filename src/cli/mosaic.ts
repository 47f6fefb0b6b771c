import { parseArgs } from 'node:util';
import { createContext } from '../context.ts';
import { buildAndRecord, type MosaicProgress } from '../mosaic/build.ts';
import { MosaicError } from '../mosaic/errors.ts';
import { fileMosaicStore, type StoredMosaicOptions } from '../mosaic/registry.ts';
import { createProgress, type Progress } from './progress.ts';
import { runCli, UsageError } from './run.ts';

const USAGE = `usage: npm run mosaic -- --out FILE [--target FILE] [--cells N | --grid COLSxROWS] [--width PX]
                        [--blend 0-100] [--include-unconsented] [--collage time|colour]
                        [--max-repeats N] [--min-distance CELLS] [--crop PERCENT]
                        [--no-viewer] [--viewer-url URL] [--title TEXT]
  --out FILE              the image: .jpg, .png or .tif; manifest, credits and viewer are written beside it
  --target FILE           a JPEG or PNG to reproduce (default: a built-in peace symbol)
  --cells N               about N cells, following the target's aspect (default: 4 per photo, 100–7,500)
  --width PX              output width in pixels (default 6000)
  --blend 0-100           move each pixel this far toward the target (default 0)
  --include-unconsented   also use photos without print consent: for on-screen use only
  --collage time|colour   a plain grid of every photo instead of a mosaic
  --crop PERCENT          a cell may show a square part of a photo, this part of its side, where
                          that fits better; every photo shown is still shown whole once
                          (default 35; 100: whole photos only, faster, less like the target)
  --viewer-url URL        public address of the viewer, for the QR code on the credits page`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number\n${USAGE}`);
  return Number(value);
}

runCli(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      target: { type: 'string' },
      cells: { type: 'string' },
      grid: { type: 'string' },
      width: { type: 'string' },
      blend: { type: 'string' },
      'include-unconsented': { type: 'boolean', default: false },
      collage: { type: 'string' },
      'max-repeats': { type: 'string' },
      'min-distance': { type: 'string' },
      crop: { type: 'string' },
      'no-viewer': { type: 'boolean', default: false },
      'viewer-url': { type: 'string' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}\n${USAGE}`);
  if (!values.out) throw new UsageError(`--out is required\n${USAGE}`);
  const collage = values.collage === 'color' ? 'colour' : values.collage;
  if (collage !== undefined && collage !== 'time' && collage !== 'colour') {
    throw new UsageError('--collage must be time or colour');
  }
  let grid: StoredMosaicOptions['grid'];
  if (values.grid) {
    const m = /^(\d+)x(\d+)$/i.exec(values.grid);
    if (!m) throw new UsageError('--grid must look like 100x75');
    grid = { cols: Number(m[1]), rows: Number(m[2]) };
  }
  const blend = values.blend === undefined ? undefined : Number(values.blend);
  if (blend !== undefined && !(blend >= 0 && blend <= 100))
    throw new UsageError('--blend must be between 0 and 100');
  const options: StoredMosaicOptions = {
    out: values.out,
    target: values.target,
    cells: int('cells', values.cells),
    grid,
    width: int('width', values.width),
    blend,
    includeUnconsented: values['include-unconsented'],
    collage,
    maxRepeats: int('max-repeats', values['max-repeats']),
    minDistance: int('min-distance', values['min-distance']),
    crop: int('crop', values.crop),
    deepZoom: !values['no-viewer'],
    viewerUrl: values['viewer-url'],
    title: values.title,
  };

  const ctx = createContext();
  const bars = new Map<string, Progress>();
  let lastPhase = '';
  const onProgress = (p: MosaicProgress) => {
    if (p.phase === 'tiles' || p.phase === 'render') {
      let bar = bars.get(p.phase);
      if (!bar) {
        bar = createProgress(p.phase === 'tiles' ? 'photos' : 'render', p.total);
        bars.set(p.phase, bar);
      }
      bar.tick();
      if (p.done === p.total) bar.done();
    } else if (p.phase !== lastPhase && p.phase !== 'done') {
      process.stderr.write(`${p.phase}…\n`);
    }
    lastPhase = p.phase;
  };
  try {
    const title = options.title ?? ctx.campaign.title.en ?? Object.values(ctx.campaign.title)[0];
    const result = await buildAndRecord(
      { db: ctx.db, mediaDir: ctx.settings.mediaDir, store: fileMosaicStore(ctx.settings.dataDir) },
      { ...options, title },
      onProgress,
    ).catch((error: unknown) => {
      if (error instanceof MosaicError) throw new UsageError(error.message);
      throw error;
    });
    const { stats, files } = result;
    const out = process.stdout;
    out.write(`mosaic:        ${result.id}\n`);
    out.write(
      `image:         ${files.image} (${stats.width}×${stats.height}, ${stats.cols}×${stats.rows} cells)\n`,
    );
    out.write(`photos shown:  ${stats.photosShown} of ${stats.photos} (${stats.supporters} supporters)\n`);
    if (stats.kind === 'mosaic') {
      out.write(`repeats:       at most ${stats.maxRepeats}, at least ${stats.minDistance} cells apart\n`);
      if (stats.cropped > 0)
        out.write(`crops:         ${stats.cropped} of ${stats.cells} cells show part of a photo\n`);
    }
    out.write(`manifest:      ${files.manifestJson}, ${files.manifestCsv}\n`);
    out.write(`credits:       ${files.credits}\n`);
    if (files.viewer) out.write(`viewer:        ${files.viewer}/index.html\n`);
    // The build's phases one after the other; the match's own (`match.costs`, …) are parts of them.
    const total = Object.entries(stats.seconds)
      .filter(([phase]) => !phase.includes('.'))
      .reduce((sum, [, seconds]) => sum + seconds, 0);
    out.write(`time:          ${total.toFixed(1)} s\n`);
    return 0;
  } finally {
    ctx.close();
  }
});
