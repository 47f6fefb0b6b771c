// A new photo's files written into a staging folder and renamed into place whole, with blocking
// calls: it runs on a media thread (media-threads.ts), where waiting on the disk holds up nothing
// else. Each asynchronous file call cost the importing thread about a tenth of a millisecond of
// hand-off to libuv's threads, and a photo's folder took seventeen of them. Plain JS: worker
// threads load it without a TypeScript loader.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/** Makes entries (a rename, a new file) durable: they live in the directory, not in the files. */
function syncDirectorySync(dir) {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeWhole(fd, data) {
  for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
}

/**
 * Writes `files` ([name, bytes, durable]: durable ones are flushed) into `staging`, a folder
 * beside `dir` that no one else sees, then renames it to `dir` and flushes the entries. False,
 * with nothing left behind, when `dir` exists already (the photo was stored meanwhile).
 */
export function writeFolderSync(dir, staging, files) {
  if (existsSync(dir)) return false;
  const parent = path.dirname(dir);
  // The first folder mkdir made: the prefix folder too, for this prefix's first photo.
  const created = mkdirSync(staging, { recursive: true });
  try {
    for (const [name, data, durable] of files) {
      const fd = openSync(path.join(staging, name), 'wx', 0o644);
      try {
        writeWhole(fd, data);
        if (durable) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    syncDirectorySync(staging);
    renameSync(staging, dir);
  } catch (error) {
    try {
      rmSync(staging, { recursive: true, force: true });
    } catch {
      // Left behind, the first failure still the one reported: the hourly sweep removes
      // staging folders older than an hour.
    }
    if (error?.code === 'ENOTEMPTY' || error?.code === 'EEXIST') return false;
    throw error;
  }
  syncDirectorySync(parent);
  // A prefix folder made now lives in the media folder: its entry there is flushed too.
  if (created !== undefined && created !== staging) syncDirectorySync(path.dirname(parent));
  return true;
}
