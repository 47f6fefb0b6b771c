// A small self-contained deep-zoom viewer for one mosaic: no library, no network beyond the
// files beside it, so it works from a USB stick, a kiosk or the standwall server alike.
// Data comes from data.js (window.MOSAIC), written by the mosaic builder; loading it as a
// script rather than fetching JSON keeps it working when opened as a file.
(() => {
  const M = window.MOSAIC;
  const stage = document.getElementById('stage');
  const canvas = document.getElementById('canvas');
  const ctx = canvas.getContext('2d');
  const { width: W, height: H, tileSize: TS, overlap: OV, format } = M.dzi;
  const maxLevel = Math.ceil(Math.log2(Math.max(W, H)));
  const tiles = new Map();
  let highlight = [];
  // View: image pixel at the top-left corner of the canvas, and screen pixels per image pixel.
  const view = { x: 0, y: 0, scale: 1 };
  let minScale = 1;
  let dpr = 1;
  let frame = 0;
  let anim = null;

  function resize() {
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(stage.clientWidth * dpr);
    canvas.height = Math.round(stage.clientHeight * dpr);
    minScale = Math.min(stage.clientWidth / W, stage.clientHeight / H) * 0.9;
    redraw();
  }

  function home() {
    fitView(0, 0, W, H, false);
  }

  /** Sets the view so the image rectangle fills the screen with a margin. */
  function fitView(x, y, w, h, animate) {
    const sw = stage.clientWidth;
    const sh = stage.clientHeight;
    const scale = Math.min(Math.max(Math.min(sw / w, sh / h) * 0.8, minScale), 4);
    const target = { x: x + w / 2 - sw / 2 / scale, y: y + h / 2 - sh / 2 / scale, scale };
    if (!animate) {
      Object.assign(view, target);
      redraw();
      return;
    }
    const from = { ...view };
    const start = performance.now();
    anim = (now) => {
      const t = Math.min(1, (now - start) / 700);
      const e = t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
      // Interpolate the zoom geometrically so the flight looks even at every scale.
      const scale = from.scale * (target.scale / from.scale) ** e;
      const cx =
        from.x + sw / 2 / from.scale + (target.x + sw / 2 / target.scale - from.x - sw / 2 / from.scale) * e;
      const cy =
        from.y + sh / 2 / from.scale + (target.y + sh / 2 / target.scale - from.y - sh / 2 / from.scale) * e;
      view.scale = scale;
      view.x = cx - sw / 2 / scale;
      view.y = cy - sh / 2 / scale;
      if (t >= 1) anim = null;
      redraw();
    };
    redraw();
  }

  function tile(level, col, row) {
    const key = `${level}/${col}_${row}`;
    let img = tiles.get(key);
    if (!img) {
      img = new Image();
      img.onload = redraw;
      img.src = `${M.dzi.url}${key}.${format}`;
      tiles.set(key, img);
    }
    return img;
  }

  function drawLevel(level, onlyLoaded) {
    const f = 2 ** (maxLevel - level);
    const lw = Math.ceil(W / f);
    const lh = Math.ceil(H / f);
    const s = view.scale * f * dpr;
    const x0 = Math.max(0, Math.floor(view.x / f / TS));
    const y0 = Math.max(0, Math.floor(view.y / f / TS));
    const x1 = Math.min(
      Math.ceil(lw / TS) - 1,
      Math.floor((view.x + canvas.width / dpr / view.scale) / f / TS),
    );
    const y1 = Math.min(
      Math.ceil(lh / TS) - 1,
      Math.floor((view.y + canvas.height / dpr / view.scale) / f / TS),
    );
    let complete = true;
    for (let row = y0; row <= y1; row++) {
      for (let col = x0; col <= x1; col++) {
        const img = onlyLoaded ? tiles.get(`${level}/${col}_${row}`) : tile(level, col, row);
        if (!img?.complete || !img.naturalWidth) {
          complete = false;
          continue;
        }
        const ox = col === 0 ? 0 : OV;
        const oy = row === 0 ? 0 : OV;
        const px = col * TS;
        const py = row * TS;
        const w = img.naturalWidth - ox - (col < Math.ceil(lw / TS) - 1 ? OV : 0);
        const h = img.naturalHeight - oy - (row < Math.ceil(lh / TS) - 1 ? OV : 0);
        ctx.drawImage(
          img,
          ox,
          oy,
          w,
          h,
          (px - view.x / f) * s,
          (py - view.y / f) * s,
          w * s + 0.5,
          h * s + 0.5,
        );
      }
    }
    return complete;
  }

  function paint(now) {
    frame = 0;
    if (anim) anim(now);
    ctx.fillStyle = '#111';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const want = Math.max(0, Math.min(maxLevel, maxLevel + Math.ceil(Math.log2(view.scale * dpr))));
    // Coarse levels already loaded fill the gaps while the sharp ones arrive.
    for (let level = Math.max(0, want - 4); level < want; level++) drawLevel(level, true);
    drawLevel(want, false);
    ctx.lineWidth = 3 * dpr;
    ctx.strokeStyle = '#ff0';
    for (const cell of highlight) {
      const x = ((cell % M.cols) * M.cellWidth - view.x) * view.scale * dpr;
      const y = (Math.floor(cell / M.cols) * M.cellHeight - view.y) * view.scale * dpr;
      ctx.strokeRect(x, y, M.cellWidth * view.scale * dpr, M.cellHeight * view.scale * dpr);
    }
    if (anim) redraw();
    if (tiles.size > 2000) for (const key of [...tiles.keys()].slice(0, 500)) tiles.delete(key);
  }

  function redraw() {
    if (!frame) frame = requestAnimationFrame(paint);
  }

  function zoomAt(factor, sx, sy) {
    const scale = Math.min(Math.max(view.scale * factor, minScale), 8);
    view.x += sx / view.scale - sx / scale;
    view.y += sy / view.scale - sy / scale;
    view.scale = scale;
    anim = null;
    redraw();
  }

  function cellAt(sx, sy) {
    const x = view.x + sx / view.scale;
    const y = view.y + sy / view.scale;
    if (x < 0 || y < 0 || x >= M.cols * M.cellWidth || y >= M.rows * M.cellHeight) return -1;
    return Math.floor(y / M.cellHeight) * M.cols + Math.floor(x / M.cellWidth);
  }

  const panel = document.getElementById('panel');
  function safeUrl(url) {
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
  }
  function show(cell) {
    const i = M.cells[cell];
    if (i === undefined || i < 0) {
      panel.hidden = true;
      return;
    }
    const p = M.posts[i];
    highlight = p.cells;
    document.getElementById('photo').src = p.photo;
    document.getElementById('photo').alt = `Photo by ${p.author}`;
    document.getElementById('who').textContent = p.author;
    const where = document.getElementById('where');
    where.textContent = [p.handle ? (p.handle.startsWith('@') ? p.handle : `@${p.handle}`) : '', p.network]
      .filter(Boolean)
      .join(' · ');
    const more = document.getElementById('more');
    more.textContent = '';
    const url = safeUrl(p.url);
    if (url) {
      const a = document.createElement('a');
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.textContent = 'See the post';
      more.append(a);
    }
    if (p.cells.length > 1) more.append(` ${p.cells.length} tiles in this mosaic.`);
    panel.hidden = false;
    redraw();
  }
  document.getElementById('close').onclick = () => {
    panel.hidden = true;
    highlight = [];
    redraw();
  };

  // Pointer input: drag to pan, pinch to zoom, a click without movement opens the tile.
  const pointers = new Map();
  let moved = 0;
  let pinch = 0;
  stage.addEventListener('pointerdown', (e) => {
    stage.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    moved = 0;
    anim = null;
    stage.classList.add('dragging');
  });
  stage.addEventListener('pointermove', (e) => {
    const prev = pointers.get(e.pointerId);
    if (!prev) return;
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const before = Math.hypot(a.x - b.x, a.y - b.y);
      prev.x = e.clientX;
      prev.y = e.clientY;
      const after = Math.hypot(a.x - b.x, a.y - b.y);
      if (before > 0) zoomAt(after / before, (a.x + b.x) / 2, (a.y + b.y) / 2);
      pinch = 1;
      moved += 10;
      return;
    }
    view.x -= (e.clientX - prev.x) / view.scale;
    view.y -= (e.clientY - prev.y) / view.scale;
    moved += Math.abs(e.clientX - prev.x) + Math.abs(e.clientY - prev.y);
    prev.x = e.clientX;
    prev.y = e.clientY;
    redraw();
  });
  const up = (e) => {
    if (!pointers.delete(e.pointerId)) return;
    if (pointers.size === 0) {
      stage.classList.remove('dragging');
      if (moved < 5 && !pinch) show(cellAt(e.clientX, e.clientY));
      pinch = 0;
    }
  };
  stage.addEventListener('pointerup', up);
  stage.addEventListener('pointercancel', up);
  stage.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002)), e.clientX, e.clientY);
    },
    { passive: false },
  );
  stage.addEventListener('keydown', (e) => {
    if (e.key === '+' || e.key === '=') zoomAt(1.5, stage.clientWidth / 2, stage.clientHeight / 2);
    else if (e.key === '-') zoomAt(1 / 1.5, stage.clientWidth / 2, stage.clientHeight / 2);
  });
  document.getElementById('zoom-in').onclick = () =>
    zoomAt(1.5, stage.clientWidth / 2, stage.clientHeight / 2);
  document.getElementById('zoom-out').onclick = () =>
    zoomAt(1 / 1.5, stage.clientWidth / 2, stage.clientHeight / 2);
  document.getElementById('home').onclick = () => fitView(0, 0, W, H, true);

  // Find your tile: every post whose author name or handle contains the words typed.
  const norm = (s) =>
    String(s || '')
      .normalize('NFKC')
      .toLowerCase()
      .replace(/^@/, '')
      .trim();
  function flyTo(cells) {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const c of cells) {
      const x = (c % M.cols) * M.cellWidth;
      const y = Math.floor(c / M.cols) * M.cellHeight;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x + M.cellWidth);
      y1 = Math.max(y1, y + M.cellHeight);
    }
    highlight = cells;
    fitView(x0, y0, Math.max(x1 - x0, M.cellWidth * 3), Math.max(y1 - y0, M.cellHeight * 3), true);
  }
  document.getElementById('search').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = norm(document.getElementById('q').value);
    const out = document.getElementById('found');
    out.textContent = '';
    if (!q) return;
    const hits = M.posts.filter((p) => norm(p.author).includes(q) || norm(p.handle).includes(q));
    if (hits.length === 0) {
      out.textContent = 'No tile found for that name.';
      return;
    }
    const all = hits.flatMap((p) => p.cells);
    out.append(`${all.length} ${all.length === 1 ? 'tile' : 'tiles'}: `);
    for (const p of hits.slice(0, 20)) {
      for (const c of p.cells) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = p.author;
        b.onclick = () => {
          flyTo([c]);
          show(c);
        };
        out.append(b);
      }
    }
    flyTo(all);
  });

  window.addEventListener('resize', resize);
  resize();
  home();
  const q = new URLSearchParams(location.search).get('find');
  if (q) {
    document.getElementById('q').value = q;
    document.getElementById('search').requestSubmit();
  }
})();
