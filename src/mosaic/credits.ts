import type { Manifest } from './manifest.ts';
import { supporters } from './manifest.ts';
import { qrSvg } from './qr.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const NETWORKS: Record<string, string> = {
  x: 'X',
  mastodon: 'Mastodon',
  bluesky: 'Bluesky',
  upload: 'upload',
  import: 'photo',
  email: 'e-mail',
};

/**
 * A printable page naming every supporter shown, once each, in name order; with a QR code to
 * the interactive viewer when its public URL is known (a code needs an absolute URL to be
 * useful on paper). Every supporter-provided string is escaped: names are untrusted text.
 */
export function creditsHtml(
  manifest: Manifest,
  opts: { title?: string; viewerUrl?: string | null } = {},
): string {
  const people = supporters(manifest);
  const title = opts.title ?? 'Supporters';
  const items = people
    .map((s) => {
      const handle = s.handle
        ? ` <span class="handle">${escapeHtml(s.handle.startsWith('@') ? s.handle : `@${s.handle}`)}</span>`
        : '';
      const net = ` <span class="net">${escapeHtml(NETWORKS[s.network] ?? s.network)}</span>`;
      return `<li><span class="name">${escapeHtml(s.name)}</span>${handle}${net}</li>`;
    })
    .join('\n');
  const qr = opts.viewerUrl
    ? `<figure class="qr">${qrSvg(opts.viewerUrl)}<figcaption>Find your tile:<br>${escapeHtml(opts.viewerUrl)}</figcaption></figure>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — credits</title>
<style>
body { font-family: system-ui, "Noto Sans", "Noto Sans CJK KR", "Malgun Gothic", sans-serif; margin: 2rem; color: #111; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 2rem; }
.qr { margin: 0; text-align: center; font-size: .75rem; max-width: 12rem; word-break: break-all; }
.qr svg { width: 10rem; height: 10rem; }
ol { columns: 4 12rem; column-gap: 2rem; padding: 0; list-style: none; font-size: .85rem; line-height: 1.35; }
li { break-inside: avoid; }
.handle, .net { color: #555; }
.net { font-size: .7rem; text-transform: uppercase; letter-spacing: .03em; }
@page { margin: 12mm; }
@media print { body { margin: 0; } }
</style>
</head>
<body>
<header>
<div>
<h1>${escapeHtml(title)}</h1>
<p>${people.length} ${people.length === 1 ? 'supporter appears' : 'supporters appear'} in this ${manifest.kind === 'collage' ? 'collage' : 'mosaic'} (${manifest.cols}×${manifest.rows} tiles). Thank you.</p>
</div>
${qr}
</header>
<ol>
${items}
</ol>
</body>
</html>
`;
}
