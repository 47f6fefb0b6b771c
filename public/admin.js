// The moderation queue: plain JS, no framework. Everything from posts is set with
// textContent or attributes, never as HTML.

(() => {
  const main = document.getElementById('main');
  const headers = { 'Content-Type': 'application/json' };

  async function api(url, method = 'POST', body) {
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = await response.json().catch(() => ({}));
    return { status: response.status, data };
  }

  // Generic buttons and forms on the author, rules and other pages.
  for (const button of document.querySelectorAll('button[data-api]')) {
    button.addEventListener('click', async () => {
      const { status, data } = await api(button.dataset.api, button.dataset.method || 'POST');
      if (status >= 400) alert(data.error || `failed (${status})`);
      else location.reload();
    });
  }
  for (const form of document.querySelectorAll('form[data-api]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = Object.fromEntries(new FormData(form));
      const { status, data } = await api(form.dataset.api, 'POST', body);
      if (status >= 400) alert(data.error || `failed (${status})`);
      else location.reload();
    });
  }

  const queue = document.getElementById('queue');
  if (!queue) return;

  const demands = JSON.parse(main.dataset.demands || '{}');
  const template = document.getElementById('card');
  const filters = document.getElementById('filters');
  const message = document.getElementById('message');
  const empty = document.getElementById('empty');
  const more = document.getElementById('more');
  const bulk = document.getElementById('bulk');
  const bulkCount = document.getElementById('bulk-count');

  /** @type {Map<number, {post: any, node: HTMLElement}>} */
  const cards = new Map();
  const selected = new Set();
  const undoStack = [];
  let order = [];
  let cursor = 0;
  let next = null;

  function say(text, bad = false) {
    message.textContent = text;
    message.classList.toggle('bad', bad);
  }

  function filterValues() {
    const values = Object.fromEntries(new FormData(filters));
    for (const key of Object.keys(values)) if (!values[key]) delete values[key];
    return values;
  }

  function matches(post) {
    const f = filterValues();
    if (f.status && post.status !== f.status) return false;
    if (f.network && post.network !== f.network) return false;
    if (f.region && post.region !== f.region) return false;
    if (f.demand && !post.demands.includes(f.demand)) return false;
    if (f.q) {
      const q = f.q.toLowerCase();
      const hay = `${post.text} ${post.author.name} ${post.author.handle || ''}`.toLowerCase();
      if (!hay.includes(q)) return false;
    }
    return true;
  }

  function fill(node, post) {
    node.dataset.id = String(post.id);
    node.dataset.status = post.status;
    const photo = post.media[0];
    const img = node.querySelector('img');
    const link = node.querySelector('a.photo');
    if (photo) {
      img.src = photo.thumbUrl;
      img.alt = photo.alt || '';
      link.href = photo.url;
    } else {
      img.removeAttribute('src');
      img.alt = post.mediaPending ? 'photo still downloading' : 'no photo';
      link.removeAttribute('href');
    }
    node.querySelector('.network').textContent = post.network;
    const author = node.querySelector('.author');
    author.textContent = post.author.name;
    author.href = `/admin/authors/${post.authorId}`;
    node.querySelector('.handle').textContent = post.author.handle
      ? `@${post.author.handle.replace(/^@/, '')}`
      : '';
    const time = node.querySelector('time');
    time.dateTime = post.postedAt;
    time.textContent = new Date(post.postedAt).toLocaleString();
    const status = node.querySelector('.status');
    status.textContent = post.featured ? `${post.status} · featured` : post.status;
    node.querySelector('.text').textContent = post.text;
    const chips = node.querySelector('.chips');
    chips.replaceChildren(
      ...post.demands.map((id) => {
        const chip = document.createElement('span');
        chip.className = 'chip';
        chip.textContent = demands[id] || id;
        return chip;
      }),
    );
    const hints = [];
    if (post.nearDuplicateOf) hints.push(`looks like post #${post.nearDuplicateOf}`);
    if (post.sensitive) hints.push('flagged sensitive by the network');
    if (post.authorTrusted) hints.push('trusted author');
    if (post.authorBlocked) hints.push('blocked author');
    if (post.region) hints.push(`region ${post.region}`);
    if (post.consentPrint) hints.push('consent for print');
    node.querySelector('.hints').textContent = hints.join(' · ');
    const source = node.querySelector('a.source');
    if (post.url && /^https?:\/\//.test(post.url)) source.href = post.url;
    else source.remove();
    node.querySelector('input[type=checkbox]').checked = selected.has(post.id);
    const region = node.querySelector('select.region');
    if (![...region.options].some((o) => o.value === (post.region || '')))
      region.add(new Option(post.region, post.region));
    region.value = post.region || '';
  }

  function render(post, { atTop = false } = {}) {
    let entry = cards.get(post.id);
    if (!entry) {
      const node = template.content.firstElementChild.cloneNode(true);
      node.addEventListener('click', (event) => {
        const act = event.target.closest('button[data-act]');
        if (act) decide(post.id, act.dataset.act);
        select(order.indexOf(post.id));
      });
      node.querySelector('select.region').addEventListener('change', async (event) => {
        const region = event.target.value || null;
        const { status, data } = await api(`/api/admin/posts/${post.id}/region`, 'POST', { region });
        if (status >= 400) say(data.error || `failed (${status})`, true);
        else {
          say(`#${post.id}: region ${region || 'unknown'}`);
          render(data.post);
        }
      });
      node.querySelector('input[type=checkbox]').addEventListener('change', (event) => {
        toggle(post.id, event.target.checked);
      });
      entry = { post, node };
      cards.set(post.id, entry);
      if (atTop) {
        queue.prepend(node);
        order.unshift(post.id);
        if (order.length > 1) cursor++;
      } else {
        queue.append(node);
        order.push(post.id);
      }
    }
    entry.post = post;
    fill(entry.node, post);
    refresh();
  }

  function drop(id) {
    const entry = cards.get(id);
    if (!entry) return;
    const index = order.indexOf(id);
    entry.node.remove();
    cards.delete(id);
    selected.delete(id);
    order.splice(index, 1);
    if (index < cursor) cursor--;
    cursor = Math.min(cursor, order.length - 1);
    refresh();
  }

  function refresh() {
    empty.hidden = order.length > 0;
    bulk.hidden = selected.size === 0;
    bulkCount.textContent = `${selected.size} selected`;
    for (const [i, id] of order.entries()) cards.get(id).node.classList.toggle('current', i === cursor);
  }

  function select(index) {
    if (order.length === 0) return;
    cursor = Math.max(0, Math.min(order.length - 1, index));
    refresh();
    const node = cards.get(order[cursor]).node;
    node.focus({ preventScroll: true });
    node.scrollIntoView({ block: 'nearest' });
  }

  function toggle(id, on) {
    if (on) selected.add(id);
    else selected.delete(id);
    refresh();
  }

  async function load(append = false) {
    const params = new URLSearchParams(filterValues());
    if (append && next) params.set('after', next);
    const { status, data } = await api(`/api/admin/posts?${params}`, 'GET');
    if (status === 401) {
      location.href = '/admin/login?next=/admin';
      return;
    }
    if (status >= 400) {
      say(data.error || `could not load (${status})`, true);
      return;
    }
    if (!append) {
      queue.replaceChildren();
      cards.clear();
      order = [];
      cursor = 0;
    }
    for (const post of data.posts) render(post);
    next = data.next;
    more.hidden = !next;
    select(append ? cursor : 0);
  }

  async function decide(id, act) {
    const entry = cards.get(id);
    if (!entry) return;
    if (act === 'trust' || act === 'block') {
      const { status, data } = await api(`/api/admin/authors/${entry.post.authorId}/${act}`);
      say(
        status < 400 ? `${act === 'trust' ? 'Trusted' : 'Blocked'} ${entry.post.author.name}` : data.error,
        status >= 400,
      );
      return;
    }
    const { status, data } = await api(`/api/admin/posts/${id}/${act}`, 'POST', {
      expectedStatus: entry.post.status,
    });
    if (status === 409) {
      say(data.error, true);
      if (data.post) apply(data.post);
      return;
    }
    if (status >= 400) {
      say(data.error || `failed (${status})`, true);
      return;
    }
    if (data.eventId) undoStack.push({ eventId: data.eventId, postId: id });
    say(
      data.changed
        ? `#${id}: ${data.post.status}${data.post.featured ? ', featured' : ''}`
        : `#${id} was already so`,
    );
    apply(data.post);
  }

  function apply(post) {
    if (matches(post)) render(post);
    else drop(post.id);
  }

  async function undo() {
    const last = undoStack.pop();
    if (!last) {
      say('nothing to undo');
      return;
    }
    const { status, data } = await api(`/api/admin/events/${last.eventId}/undo`);
    if (status >= 400) {
      say(data.error, true);
      return;
    }
    const fresh = await api(`/api/admin/posts/${last.postId}`, 'GET');
    if (fresh.status === 200) {
      const post = fresh.data.post;
      if (matches(post)) {
        // Put it back where the moderator is looking.
        render(post);
        const index = order.indexOf(post.id);
        order.splice(index, 1);
        order.splice(cursor, 0, post.id);
        const anchor = cards.get(order[cursor + 1])?.node ?? null;
        queue.insertBefore(cards.get(post.id).node, anchor);
        select(cursor);
      }
      say(`undone: #${post.id} is ${post.status} again`);
    }
  }

  async function bulkDecide(act) {
    const ids = [...selected];
    let done = 0;
    for (const id of ids) {
      await decide(id, act);
      done++;
    }
    selected.clear();
    refresh();
    say(`${act}: ${done} posts`);
  }

  document.addEventListener('keydown', (event) => {
    if (event.target.closest('input, select, textarea') || event.metaKey || event.ctrlKey || event.altKey)
      return;
    const id = order[cursor];
    const keys = { a: 'approve', r: 'reject', f: 'feature', p: 'pending' };
    if (event.key === 'j') select(cursor + 1);
    else if (event.key === 'k') select(cursor - 1);
    else if (event.key === 'u') undo();
    else if (event.key === 'x' && id !== undefined) toggle(id, !selected.has(id));
    else if (keys[event.key] && id !== undefined) decide(id, keys[event.key]);
    else return;
    event.preventDefault();
  });

  bulk.addEventListener('click', (event) => {
    const act = event.target.closest('button[data-bulk]')?.dataset.bulk;
    if (act === 'clear') {
      selected.clear();
      for (const entry of cards.values()) entry.node.querySelector('input[type=checkbox]').checked = false;
      refresh();
    } else if (act) bulkDecide(act);
  });
  more.addEventListener('click', () => load(true));
  let debounce;
  filters.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => load(false), 200);
  });

  const stream = new EventSource('/api/admin/stream');
  stream.addEventListener('post', (event) => {
    const post = JSON.parse(event.data);
    if (matches(post)) render(post, { atTop: !cards.has(post.id) });
    else drop(post.id);
  });
  stream.addEventListener('open', () => main.classList.remove('offline'));
  stream.addEventListener('error', () => main.classList.add('offline'));

  load(false);
})();
