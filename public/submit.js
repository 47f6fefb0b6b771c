// The upload form: preview and downscale in the browser (phones take 12 MP photos over slow
// links), then send. Without JavaScript the plain form still works.

(() => {
  const form = document.getElementById('submit-form');
  if (!form) return;
  const input = form.querySelector('input[type=file]');
  const preview = document.getElementById('preview');
  const error = document.getElementById('error');
  const button = form.querySelector('button[type=submit]');
  const LONG_SIDE = 2400;
  let prepared = null;

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
    button.disabled = false;
    button.textContent = button.dataset.label || button.textContent;
  }

  async function downscale(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) return file;
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size < 4 * 1024 * 1024) return file;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    return blob ? new File([blob], `${file.name.replace(/\.\w+$/, '')}.jpg`, { type: 'image/jpeg' }) : file;
  }

  input.addEventListener('change', async () => {
    error.hidden = true;
    prepared = null;
    const file = input.files[0];
    if (!file) return;
    try {
      prepared = await downscale(file);
    } catch {
      prepared = file; // the server decides; it reads formats the browser cannot
    }
    if (/^image\/(jpeg|png|webp|avif)$/.test(prepared.type)) {
      preview.src = URL.createObjectURL(prepared);
      preview.hidden = false;
    } else preview.hidden = true;
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    if (prepared) data.set('photo', prepared, prepared.name);
    button.dataset.label = button.textContent;
    button.textContent = form.dataset.sending;
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        body: data,
        headers: { Accept: 'application/json' },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) return fail(body.error || `Error ${response.status}`);
      location.href = body.next || '/submit/thanks';
    } catch {
      fail('No connection. Please try again.');
    }
  });
})();
