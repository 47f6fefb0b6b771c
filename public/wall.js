// The projected wall. Runs for hours unattended: a fixed set of DOM nodes is reused, the
// pool of posts is capped, every image is decoded before it is shown, and the stream
// reconnects by itself, resuming from the last event id it saw.

(() => {
  const root = document.getElementById('wall');
  const settings = JSON.parse(root.dataset.settings);
  const POOL_MAX = 300;
  const NETWORK_LABEL = {
    x: 'X',
    mastodon: 'Mastodon',
    bluesky: 'Bluesky',
    instagram: 'Instagram',
    threads: 'Threads',
    upload: '',
    email: '',
    import: '',
  };

  /** Newest first. */
  let pool = [];
  const byId = new Map();
  /** Posts that arrived live and have not had their spotlight moment yet. */
  const fresh = [];
  let lastEventId = 0;
  let replayIndex = 0;
  let spotlightPost = null;
  let rotateTimer = 0;

  const spotlight = document.getElementById('spotlight');
  const grid = document.getElementById('grid');
  const waiting = document.getElementById('waiting');
  const goals = document.getElementById('goals');
  const offline = document.getElementById('offline');

  const wanted = (post) =>
    post.media.length > 0 && (settings.networks.length === 0 || settings.networks.includes(post.network));

  function gridSize() {
    const wide = innerWidth / innerHeight > 1.2;
    if (settings.layout === 'spotlight') return 0;
    if (settings.layout === 'grid') return wide ? 15 : 12;
    return innerWidth < 700 ? 4 : wide ? 8 : 6;
  }

  // A fixed set of cells, made once and reused for hours.
  const cells = [];
  function buildGrid() {
    const n = gridSize();
    while (cells.length < n) {
      const li = document.createElement('li');
      li.className = 'cell empty';
      const img = document.createElement('img');
      img.alt = '';
      const cap = document.createElement('div');
      cap.className = 'cap';
      const who = document.createElement('p');
      const net = document.createElement('img');
      net.className = 'net';
      net.alt = '';
      net.hidden = true;
      const name = document.createElement('span');
      name.className = 'name';
      const text = document.createElement('p');
      text.className = 'ctext';
      who.append(net, name);
      cap.append(who, text);
      li.append(img, cap);
      grid.append(li);
      cells.push({ li, img, cap, net, name, text, post: null, at: 0 });
    }
    while (cells.length > n) cells.pop().li.remove();
  }

  function ago(iso) {
    const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
    if (settings.lang === 'ko') {
      if (minutes < 1) return '방금';
      if (minutes < 60) return `${minutes}분 전`;
      if (minutes < 1440) return `${Math.round(minutes / 60)}시간 전`;
      return `${Math.round(minutes / 1440)}일 전`;
    }
    if (minutes < 1) return 'just now';
    if (minutes < 60) return `${minutes} min ago`;
    if (minutes < 1440) return `${Math.round(minutes / 60)} h ago`;
    return `${Math.round(minutes / 1440)} d ago`;
  }

  const handleOf = (post) => (post.author.handle ? `@${post.author.handle.replace(/^@/, '')}` : '');

  /** Resolves once the image is decoded; rejects on a broken image (never shown then). */
  function preload(url) {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    return img.decode().then(() => url);
  }

  function setNetworkMark(img, network) {
    if (NETWORK_LABEL[network]) {
      img.src = `/assets/net-${network}.svg`;
      img.alt = NETWORK_LABEL[network];
      img.hidden = false;
    } else {
      img.hidden = true;
      img.removeAttribute('src');
    }
  }

  async function showInSpotlight(post) {
    if (settings.layout === 'grid') return placeInGrid(post);
    const url = post.media[0].url;
    try {
      await preload(url);
    } catch {
      drop(post.id);
      return;
    }
    if (!byId.has(post.id)) return;
    const previous = spotlightPost;
    spotlight.classList.remove('enter');
    spotlight.querySelector('.frame img').src = url;
    spotlight.querySelector('.frame img').alt = post.media[0].alt || '';
    setNetworkMark(spotlight.querySelector('img.net'), post.network);
    spotlight.querySelector('.name').textContent = post.author.name;
    spotlight.querySelector('.handle').textContent = handleOf(post);
    const time = spotlight.querySelector('time');
    time.dateTime = post.postedAt;
    time.textContent = ago(post.postedAt);
    spotlight.querySelector('.text').textContent = post.text;
    spotlight.dataset.id = String(post.id);
    spotlight.classList.toggle('featured', post.featured);
    spotlight.hidden = false;
    void spotlight.offsetWidth; // restart the entrance animation
    spotlight.classList.add('enter');
    spotlightPost = post;
    waiting.hidden = true;
    // A photo is on screen once: the spotlight's new photo leaves its grid cell to the previous one.
    const vacated = cells.find((c) => c.post && c.post.id === post.id);
    if (vacated) clearCell(vacated);
    if (previous && previous.id !== post.id && byId.has(previous.id)) placeInGrid(previous, vacated);
  }

  function clearCell(cell) {
    cell.post = null;
    cell.at = 0;
    cell.li.classList.add('empty');
    cell.img.removeAttribute('src');
    cell.name.textContent = '';
    cell.text.textContent = '';
    cell.net.hidden = true;
    delete cell.li.dataset.id;
  }

  async function placeInGrid(post, preferred) {
    if (cells.length === 0) return;
    if (isShown(post.id)) return;
    const url = post.media[0].thumbUrl;
    try {
      await preload(url);
    } catch {
      return;
    }
    if (!byId.has(post.id) || isShown(post.id)) return;
    // Fill an empty cell first, else replace the one shown longest.
    const cell =
      (preferred && !preferred.post && preferred) ||
      cells.find((c) => !c.post) ||
      cells.reduce((a, b) => (a.at <= b.at ? a : b));
    cell.li.classList.remove('enter', 'empty');
    cell.img.src = url;
    cell.img.alt = post.media[0].alt || '';
    setNetworkMark(cell.net, post.network);
    cell.name.textContent = handleOf(post) ? `${post.author.name} ${handleOf(post)}` : post.author.name;
    // X asks that a post shown on a broadcast carry its text, name, @username and logo.
    cell.text.textContent = post.text;
    cell.li.dataset.id = String(post.id);
    cell.post = post;
    cell.at = Date.now();
    void cell.li.offsetWidth;
    cell.li.classList.add('enter');
    waiting.hidden = true;
  }

  function add(post, live) {
    if (!wanted(post)) {
      if (byId.has(post.id)) drop(post.id);
      return;
    }
    const known = byId.has(post.id);
    byId.set(post.id, post);
    if (known) {
      pool = pool.map((p) => (p.id === post.id ? post : p));
    } else {
      pool.unshift(post);
      pool.sort((a, b) => (a.postedAt < b.postedAt ? 1 : a.postedAt > b.postedAt ? -1 : b.id - a.id));
      if (pool.length > POOL_MAX) for (const old of pool.splice(POOL_MAX)) byId.delete(old.id);
    }
    if (live && (!known || post.featured)) {
      fresh.push(post);
      if (fresh.length === 1 && !rotating) rotate();
    }
  }

  function drop(id) {
    if (!byId.has(id)) return;
    byId.delete(id);
    pool = pool.filter((p) => p.id !== id);
    const index = fresh.findIndex((p) => p.id === id);
    if (index >= 0) fresh.splice(index, 1);
    for (const cell of cells) {
      if (cell.post && cell.post.id === id) {
        clearCell(cell);
        const replacement = pool.find((p) => !isShown(p.id));
        if (replacement) placeInGrid(replacement);
      }
    }
    if (spotlightPost && spotlightPost.id === id) {
      spotlightPost = null;
      spotlight.hidden = true;
      delete spotlight.dataset.id;
      rotate();
    }
    if (pool.length === 0) waiting.hidden = false;
  }

  const isShown = (id) =>
    (spotlightPost && spotlightPost.id === id) || cells.some((c) => c.post && c.post.id === id);

  let rotating = false;
  async function rotate() {
    clearTimeout(rotateTimer);
    rotating = true;
    try {
      let next = fresh.shift();
      if (!next && pool.length > 0) {
        // A quiet feed keeps moving: featured posts come round more often than the others.
        const featured = pool.filter((p) => p.featured);
        const candidates = featured.length > 0 && replayIndex % 3 === 0 ? featured : pool;
        next = candidates[replayIndex % candidates.length];
        replayIndex++;
        if (next && spotlightPost && next.id === spotlightPost.id && pool.length > 1) {
          next = candidates[replayIndex % candidates.length];
          replayIndex++;
        }
      }
      if (next) await showInSpotlight(next);
    } finally {
      rotating = false;
      rotateTimer = setTimeout(rotate, (fresh.length > 0 ? 2 : settings.pace) * 1000);
    }
  }

  function showGoals(stats) {
    for (const goal of stats.goals) {
      const span = goals.querySelector(`[data-region="${goal.region}"] strong`);
      if (span) span.textContent = goal.supporters.toLocaleString('en-US');
    }
  }

  async function loadInitial() {
    const response = await fetch('/api/wall?limit=60', { cache: 'no-store' });
    if (!response.ok) throw new Error(`wall: ${response.status}`);
    const data = await response.json();
    lastEventId = Math.max(lastEventId, data.lastEventId);
    for (const post of data.posts.reverse()) add(post, false);
    const shown = pool.slice(0, cells.length + 1);
    if (shown[0]) await showInSpotlight(shown[0]);
    for (const post of shown.slice(1).reverse()) await placeInGrid(post);
  }

  let source = null;
  let retry = 0;
  function connect() {
    source = new EventSource(`/api/wall/stream?lastEventId=${lastEventId}`);
    const remember = (event) => {
      if (event.lastEventId) lastEventId = Math.max(lastEventId, Number(event.lastEventId));
    };
    source.addEventListener('open', () => {
      offline.hidden = true;
      retry = 0;
    });
    source.addEventListener('post', (event) => {
      remember(event);
      add(JSON.parse(event.data), true);
    });
    source.addEventListener('remove', (event) => {
      remember(event);
      drop(JSON.parse(event.data).id);
    });
    source.addEventListener('stats', (event) => {
      remember(event);
      showGoals(JSON.parse(event.data));
    });
    source.addEventListener('reset', (event) => {
      remember(event);
      loadInitial().catch(() => undefined);
    });
    source.addEventListener('error', () => {
      offline.hidden = false;
      // The browser retries by itself unless the stream is closed (a proxy's 502, say).
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        retry = Math.min(retry + 1, 6);
        setTimeout(connect, 1000 * retry);
      }
    });
  }

  // Relative times age on screen.
  setInterval(() => {
    if (spotlightPost) spotlight.querySelector('time').textContent = ago(spotlightPost.postedAt);
  }, 30000);

  addEventListener('resize', buildGrid);
  buildGrid();

  (async function start() {
    try {
      await loadInitial();
    } catch {
      offline.hidden = false;
      setTimeout(start, 3000);
      return;
    }
    connect();
    rotateTimer = setTimeout(rotate, settings.pace * 1000);
  })();
})();
