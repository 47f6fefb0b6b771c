// The mosaics page: start a build, follow its progress live, rebuild a stale one.

(() => {
  const form = document.getElementById('mosaic-form');
  const message = document.getElementById('message');
  const table = document.getElementById('mosaics');
  if (!form || !table) return;

  function say(text, bad = false) {
    message.textContent = text;
    message.classList.toggle('bad', bad);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const response = await fetch(form.action, { method: 'POST', body: new FormData(form) });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) return say(data.error || `failed (${response.status})`, true);
      say(`Building ${data.id}…`);
      setTimeout(() => location.reload(), 300);
    } finally {
      button.disabled = false;
    }
  });

  table.addEventListener('click', async (event) => {
    const id = event.target.closest('button[data-rebuild]')?.dataset.rebuild;
    if (!id) return;
    const response = await fetch(`/api/admin/mosaics/${id}/rebuild`, { method: 'POST' });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) return say(data.error || `failed (${response.status})`, true);
    say(`Rebuilding ${id}…`);
    setTimeout(() => location.reload(), 300);
  });

  const stream = new EventSource('/api/admin/mosaics/stream');
  stream.addEventListener('job', (event) => {
    const job = JSON.parse(event.data);
    const row = table.querySelector(`tr[data-id="${job.id}"]`);
    if (!row) return;
    const bar = row.querySelector('progress');
    const state = row.querySelector('.state');
    if (job.status === 'running') {
      bar.hidden = false;
      bar.value = job.percent;
      state.textContent = `building ${job.percent}%${job.progress ? ` (${job.progress.phase})` : ''}`;
    } else {
      // Done or failed: the server renders the links and the error.
      location.reload();
    }
  });
})();
