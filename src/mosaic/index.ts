/** The mosaic engine: target → Lab grids → matcher → raw-buffer renderer → files, manifest, credits, viewer. */
export {
  buildAndRecord,
  buildMosaic,
  DEFAULT_WIDTH,
  type MosaicDeps,
  type MosaicFiles,
  type MosaicOptions,
  type MosaicProgress,
  type MosaicResult,
  type MosaicStats,
  rebuildMosaic,
  sideFiles,
} from './build.ts';
export { MosaicError, type MosaicErrorReason } from './errors.ts';
export type { Manifest, ManifestCell, ManifestPost } from './manifest.ts';
export {
  fileMosaicStore,
  type MosaicRecord,
  type MosaicStore,
  markStaleOnRemoval,
  type StoredMosaicOptions,
} from './registry.ts';
