import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { z } from 'zod';

/**
 * What an organizer knows about each photo of a folder: a CSV or JSON file beside the photos
 * with a row per file (`file,name,handle,region,consent`). Rows name files relative to the
 * sidecar's folder, or by bare file name.
 */
export interface SidecarEntry {
  name?: string;
  handle?: string;
  region?: string;
  consent?: boolean;
}

const truthy = new Set(['1', 'true', 'yes', 'y', 'x', '예', '네', 'o']);
const falsy = new Set(['', '0', 'false', 'no', 'n', '아니오', '아니요']);

const consentValue = z.union([z.boolean(), z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (truthy.has(s)) return true;
  if (falsy.has(s)) return false;
  ctx.addIssue({ code: 'custom', message: `consent must be yes/no, true/false or 1/0, not "${v}"` });
  return z.NEVER;
});

const rowSchema = z.object({
  file: z.string().trim().min(1, 'file is required'),
  name: z.string().trim().max(200).optional(),
  handle: z.string().trim().max(200).optional(),
  region: z
    .string()
    .trim()
    .transform((r) => r.toUpperCase())
    .pipe(z.string().regex(/^([A-Z]{2})?$/, 'region must be a two-letter country code like KR'))
    .optional(),
  consent: consentValue.optional(),
});

export class SidecarError extends Error {}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

function rowsFromCsv(text: string, file: string): Record<string, string>[] {
  const [header, ...body] = parseCsv(text);
  if (!header) return [];
  const columns = header.map((h) => h.trim().toLowerCase());
  if (!columns.includes('file')) throw new SidecarError(`${file}: the header must have a "file" column`);
  return body.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ''])));
}

function rowsFromJson(text: string, file: string): unknown[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SidecarError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (Array.isArray(json)) return json;
  if (json && typeof json === 'object') {
    return Object.entries(json).map(([fileName, value]) => ({ file: fileName, ...(value as object) }));
  }
  throw new SidecarError(`${file}: must be an array of rows or an object keyed by file name`);
}

/** Reads one sidecar; keys of the result are paths relative to `root`, plus bare names. */
export async function readSidecar(path: string, root: string): Promise<Map<string, SidecarEntry>> {
  const text = await readFile(path, 'utf8');
  const raw = path.toLowerCase().endsWith('.csv') ? rowsFromCsv(text, path) : rowsFromJson(text, path);
  const entries = new Map<string, SidecarEntry>();
  raw.forEach((row, i) => {
    const parsed = rowSchema.safeParse(row);
    if (!parsed.success) {
      const why = parsed.error.issues.map((x) => `${x.path.join('.') || 'row'}: ${x.message}`).join('; ');
      throw new SidecarError(`${path}, row ${i + 1}: ${why}`);
    }
    const { file, ...rest } = parsed.data;
    const entry: SidecarEntry = {
      name: rest.name || undefined,
      handle: rest.handle || undefined,
      region: rest.region || undefined,
      consent: rest.consent,
    };
    const rel = relative(root, join(dirname(path), file))
      .split('\\')
      .join('/');
    entries.set(rel, entry);
    if (!entries.has(basename(file))) entries.set(basename(file), entry);
  });
  return entries;
}
