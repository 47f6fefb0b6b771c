/**
 * Status HTML (Mastodon `content`, and any network that sends sanitized HTML) → plain text.
 *
 * The result is text, never markup: every tag is dropped, the text of links (hashtags,
 * mentions, URLs split into invisible/ellipsis spans) is kept as written, entities are
 * decoded once. A decoded `&lt;script&gt;` is the characters "<script>" a person typed, so
 * whatever renders the text must still escape it, as it must for any text.
 */

/** Elements whose content is never text a reader sees. */
const SKIP_CONTENT = new Set(['script', 'style', 'template', 'noscript', 'iframe', 'object', 'svg', 'math']);

/** Elements that start and end a paragraph. */
const BLOCK = new Set([
  'p',
  'div',
  'blockquote',
  'pre',
  'ul',
  'ol',
  'li',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'table',
  'tr',
  'section',
  'article',
  'header',
  'footer',
]);

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  middot: '·',
  bull: '•',
  copy: '©',
  reg: '®',
  trade: '™',
  zwj: '\u200d',
  zwnj: '\u200c',
};

function fromCodePoint(code: number): string {
  // Surrogates, NUL and out-of-range values are not characters: show the replacement mark.
  if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
    return '\ufffd';
  }
  return String.fromCodePoint(code);
}

export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (whole, body) => {
    if (body[0] === '#') {
      const hex = body[1] === 'x' || body[1] === 'X';
      return fromCodePoint(Number.parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10));
    }
    return NAMED_ENTITIES[body] ?? NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** Index just past the `>` closing the tag opened at `start`, honouring quoted attribute values. */
function tagEnd(html: string, start: number): number {
  let quote: string | null = null;
  for (let i = start + 1; i < html.length; i++) {
    const c = html[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i + 1;
  }
  return html.length;
}

/** `br` adds a line; a block boundary asks for a blank line (several boundaries still make one). */
type Piece = { kind: 'text'; text: string } | { kind: 'br' } | { kind: 'block'; lines: number };

function tokenize(html: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let text = '';
  const flush = () => {
    if (text) pieces.push({ kind: 'text', text: decodeEntities(text) });
    text = '';
  };
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      text += html.slice(i);
      break;
    }
    text += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      i = close < 0 ? html.length : close + 3;
      continue;
    }
    const m = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/.exec(html.slice(lt, lt + 64));
    if (!m) {
      if (/^<[!?/]/.test(html.slice(lt, lt + 2))) {
        i = tagEnd(html, lt); // doctype, processing instruction, malformed end tag
      } else {
        text += '<'; // a lone "<" as in "I <3 peace" is text
        i = lt + 1;
      }
      continue;
    }
    flush();
    const closing = m[1] === '/';
    const name = (m[2] as string).toLowerCase();
    i = tagEnd(html, lt);
    if (!closing && SKIP_CONTENT.has(name)) {
      const endTag = new RegExp(`</${name}\\s*>`, 'i').exec(html.slice(i));
      i = endTag ? i + endTag.index + endTag[0].length : html.length;
      continue;
    }
    if (name === 'br') pieces.push({ kind: 'br' });
    else if (BLOCK.has(name)) pieces.push({ kind: 'block', lines: name === 'li' || name === 'tr' ? 1 : 2 });
  }
  flush();
  return pieces;
}

export function htmlToText(html: string): string {
  let out = '';
  let pendingBreak = 0;
  for (const piece of tokenize(html)) {
    if (piece.kind === 'br') {
      pendingBreak += 1;
      continue;
    }
    if (piece.kind === 'block') {
      pendingBreak = Math.max(pendingBreak, piece.lines);
      continue;
    }
    const chunk = piece.text.replace(/[ \t\r\n\f]+/g, ' ');
    if (!chunk.trim() && !out) continue;
    if (pendingBreak && out) out = `${out.replace(/ +$/, '')}${'\n'.repeat(pendingBreak)}`;
    pendingBreak = 0;
    out += out.endsWith('\n') ? chunk.replace(/^ +/, '') : chunk;
  }
  return out
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
