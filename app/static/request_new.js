// The new-request page (app/templates/request_new.html): the kind of request reloads the page;
// the chosen PDF is checked (type, size) and drawn with pdf.js (pdf_pages.js) from its bytes,
// with the seal's own image at its true size on it, dragged by mouse or touch or moved with
// the arrow keys, into the placement fields (points, lower-left origin); the route preview
// (POST /api/v1/requests/route-preview) follows the inputs; the form is submitted with fetch,
// so that a refusal keeps everything entered, the chosen file too, and shows each problem by
// its field. Every word comes from the page (#nr-text).

import { PdfPages } from './pdf_pages.js';

const text = JSON.parse(document.getElementById('nr-text')?.textContent || '{}');
const fill = (s, values) => s.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

for (const el of document.querySelectorAll('[data-without-script]')) el.style.display = 'none';
const kind = document.getElementById('kind');
kind?.addEventListener('change', () => kind.form.submit());

const form = document.getElementById('new-request');
if (form) start(form);

function start(form) {
  const lifecycle = form.dataset.lifecycle === 'true';
  const sealSize = Number(form.dataset.sealSize);
  const sealSelect = form.querySelector('#seal');
  const fileInput = form.querySelector('#document');
  const inputs = {
    page: form.querySelector('#placement_page'),
    x: form.querySelector('#placement_x'),
    y: form.querySelector('#placement_y'),
    size: form.querySelector('#placement_size'),
  };

  // ---- problems shown by their field ----
  const formError = form.querySelector('#err-form');

  function clearProblems() {
    for (const el of form.querySelectorAll('.field-error:not(#err-form)')) el.remove();
    for (const el of form.querySelectorAll('.has-error')) el.classList.remove('has-error');
    formError.hidden = true;
    formError.textContent = '';
  }

  function showProblem(field, message) {
    const holder = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (!holder) return false;
    const box = holder.querySelector('.field') || holder;
    box.classList.add('has-error');
    const p = document.createElement('p');
    p.className = 'field-error';
    p.dataset.js = '';
    p.id = `err-${field}`;
    p.textContent = message;
    box.appendChild(p);
    if (field === 'placement') form.querySelector('#nr-advanced').open = true;
    return true;
  }

  function showGeneral(message) {
    formError.textContent = message;
    formError.hidden = false;
  }

  // ---- the chosen PDF, checked and drawn ----
  const place = form.querySelector('#nr-place');
  const sheet = form.querySelector('#nr-sheet');
  const stamp = form.querySelector('#nr-stamp');
  const pageLabel = form.querySelector('#nr-page-label');
  const pdf = sheet ? new PdfPages(sheet, { maxWidth: 800 }) : null;
  let fileProblem = null;
  let shownPage = 0;
  let pageSize = null;  // the shown page's size in points
  // The seal's square, in points from the page's lower-left corner; null: the server's default.
  let spot = null;

  async function checkFile() {
    const file = fileInput.files[0];
    fileProblem = null;
    if (!file) return;
    const head = new Uint8Array(await file.slice(0, 1024).arrayBuffer());
    const isPdf = new TextDecoder('latin1').decode(head).includes('%PDF-');
    if (!isPdf || !(file.type === 'application/pdf' || /\.pdf$/i.test(file.name))) {
      fileProblem = text.not_pdf;
    } else if (file.size > Number(form.dataset.maxBytes)) {
      const maxBytes = Number(form.dataset.maxBytes);
      const mb = (n) => (n / 1048576).toFixed(1);
      fileProblem = fill(text.too_big, { size: mb(file.size), most: mb(maxBytes) });
    }
  }

  async function fileChosen() {
    clearProblems();
    await checkFile();
    place.hidden = true;
    spot = null;
    if (fileProblem) {
      showProblem('document', fileProblem);
      return;
    }
    const file = fileInput.files[0];
    // Copy and resubmit: the copied request's document, until another file is chosen.
    const copied = !file && fileInput.dataset.copyUrl;
    if ((!file && !copied) || !pdf) return;
    try {
      await pdf.open(file ? new Uint8Array(await file.arrayBuffer()) : copied);
    } catch {
      showProblem('document', text.unreadable);
      return;
    }
    place.hidden = false;
    const typed = Number(inputs.page.value);
    const page = typed >= 1 && typed <= pdf.pageCount ? typed : pdf.pageCount;
    await showPage(page, inputs.x.value !== '' && inputs.y.value !== '');
  }

  // Draws page n; the seal goes on the page shown (kept where it was, moved inside the page).
  async function showPage(n, fromInputs = false) {
    const size = await pdf.show(n);
    shownPage = n;
    pageSize = size;
    pageLabel.textContent = fill(text.page, { page: n, pages: pdf.pageCount });
    form.querySelector('#nr-prev').disabled = n <= 1;
    form.querySelector('#nr-next').disabled = n >= pdf.pageCount;
    if (fromInputs) {
      spot = { x: Number(inputs.x.value), y: Number(inputs.y.value), size: sealSize };
    } else if (!spot) {
      const mx = Math.min(36, Math.max(size.width - sealSize, 0));
      const my = Math.min(36, Math.max(size.height - sealSize, 0));
      spot = { x: size.width - sealSize - mx, y: my, size: sealSize };
    }
    draw();
  }

  // Puts the seal's square at (left, top) CSS pixels on the canvas, kept inside the page, and
  // writes the placement it makes.
  function moveTo(left, top) {
    const r = pdf.squareToPixels(spot);
    const a = pdf.toPoints(left, top + r.height);
    const b = pdf.toPoints(left + r.width, top);
    spot = { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), size: sealSize };
    draw();
  }

  // Draws the seal at `spot` on the page shown, first kept on the page: in points, to a
  // hundredth, never past its edges (the server refuses a seal not all on its page); and
  // writes the placement.
  function draw() {
    const { width, height } = pdf.viewport;
    const c = pdf.toPoints(0, height);
    const d = pdf.toPoints(width, 0);
    const lo = (v) => Math.ceil(v * 100) / 100;
    const hi = (v) => Math.floor(v * 100) / 100;
    const fit = (v, min, max) => Math.max(Math.min(hi(v), hi(max)), lo(min));
    const x = Math.round(spot.x * 100) / 100;
    const y = Math.round(spot.y * 100) / 100;
    spot = { x: fit(x, Math.min(c.x, d.x), Math.max(c.x, d.x) - sealSize),
             y: fit(y, Math.min(c.y, d.y), Math.max(c.y, d.y) - sealSize),
             size: sealSize };
    inputs.page.value = shownPage;
    inputs.x.value = spot.x;
    inputs.y.value = spot.y;
    inputs.size.value = sealSize;
    const shown = pdf.squareToPixels(spot);
    Object.assign(stamp.style, { left: `${shown.left}px`, top: `${shown.top}px`,
                                 width: `${shown.width}px`, height: `${shown.height}px` });
  }

  function sealImage() {
    const id = sealSelect?.value;
    if (!id) {
      stamp.removeAttribute('src');
      stamp.classList.add('nr-stamp-empty');
      return;
    }
    stamp.classList.remove('nr-stamp-empty');
    stamp.src = form.dataset.sealImage.replace('/0/', `/${encodeURIComponent(id)}/`);
  }

  if (pdf) {
    fileInput.addEventListener('change', fileChosen);
    if (fileInput.dataset.copyUrl) fileChosen();
    form.querySelector('#nr-prev').addEventListener('click', () => showPage(shownPage - 1));
    form.querySelector('#nr-next').addEventListener('click', () => showPage(shownPage + 1));
    sealSelect?.addEventListener('change', sealImage);
    sealImage();

    // Dragging, by mouse, pen or touch (touch-action: none on the seal).
    let grab = null;
    stamp.addEventListener('pointerdown', (event) => {
      event.preventDefault();
      stamp.setPointerCapture(event.pointerId);
      grab = { dx: event.clientX - stamp.offsetLeft, dy: event.clientY - stamp.offsetTop };
      stamp.focus();
    });
    stamp.addEventListener('pointermove', (event) => {
      if (grab) moveTo(event.clientX - grab.dx, event.clientY - grab.dy);
    });
    const drop = () => { grab = null; };
    stamp.addEventListener('pointerup', drop);
    stamp.addEventListener('pointercancel', drop);

    // The arrow keys: a point at a time, ten with Shift.
    stamp.addEventListener('keydown', (event) => {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      const move = moves[event.key];
      if (!move || !pageSize) return;
      event.preventDefault();
      const step = (event.shiftKey ? 10 : 1) * pageSize.scale;
      moveTo(stamp.offsetLeft + move[0] * step, stamp.offsetTop + move[1] * step);
    });

    // The typed fields move the seal too.
    for (const input of [inputs.page, inputs.x, inputs.y]) {
      input.addEventListener('change', () => {
        if (!pdf.pageCount || inputs.x.value === '' || inputs.y.value === '') return;
        const n = Math.min(Math.max(Math.round(Number(inputs.page.value)) || 1, 1), pdf.pageCount);
        showPage(n, true);
      });
    }

    // A narrower or wider window: the page drawn again to fit.
    let resized = null;
    window.addEventListener('resize', () => {
      clearTimeout(resized);
      resized = setTimeout(() => { if (shownPage) showPage(shownPage); }, 200);
    });
  }

  // ---- the route preview ----
  const route = form.querySelector('#nr-route');
  const routeStatus = form.querySelector('#nr-route-status');
  const steps = form.querySelector('#nr-steps');
  const problems = form.querySelector('#nr-problems');
  const note = form.querySelector('#nr-route-note');
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let asked = 0;

  function requestData() {
    const data = {};
    for (const el of form.elements) {
      if (el.name?.startsWith('data.') && el.value.trim() !== '') {
        data[el.name.slice(5)] = el.type === 'number' ? Number(el.value) : el.value;
      }
    }
    return data;
  }

  function listItem(parent, content) {
    const li = document.createElement('li');
    li.append(...content);
    parent.appendChild(li);
  }

  async function preview() {
    route.hidden = false;
    route.dataset.state = 'asking';
    steps.replaceChildren();
    problems.replaceChildren();
    note.textContent = '';
    if (sealSelect && !sealSelect.value) {
      routeStatus.textContent = text.choose_seal;
      route.dataset.state = 'done';
      return;
    }
    const mine = ++asked;
    routeStatus.textContent = text.working;
    const kindInput = form.querySelector('input[type=hidden][name="business_type"], input[type=hidden][name="process"]');
    const body = { [kindInput.name]: kindInput.value, data: requestData() };
    if (sealSelect) body.seal = sealSelect.value;
    let answer;
    let ok = false;
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json',
                   'X-CSRFToken': csrf },
      });
      ok = response.ok;
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (mine !== asked) return;  // a newer preview is on its way
    route.dataset.state = 'done';
    if (!ok) {
      routeStatus.textContent = `${text.failed} ${answer?.error?.message || ''}`;
      return;
    }
    routeStatus.textContent = answer.assumed.length ? text.assumed : '';
    if (!answer.steps.length && !answer.assumed.length) routeStatus.textContent = text.no_steps;
    for (const step of answer.steps) {
      const name = document.createElement('strong');
      name.textContent = step.name;
      const people = document.createElement('span');
      people.className = 'nr-people';
      people.textContent = step.people.map((p) => p.display_name).join('、') || '—';
      listItem(steps, [name, people]);
    }
    if (answer.problems.length) {
      listItem(problems, [text.problems]);
      for (const message of answer.problems) listItem(problems, [message]);
    }
    note.textContent = answer.note;
  }

  let waiting = null;
  function previewSoon() {
    route.dataset.state = 'waiting';
    clearTimeout(waiting);
    waiting = setTimeout(preview, 400);
  }
  form.addEventListener('input', (event) => {
    if (event.target.name?.startsWith('data.')) previewSoon();
  });
  form.addEventListener('change', (event) => {
    if (event.target.name?.startsWith('data.') || event.target === sealSelect) previewSoon();
  });
  preview();

  // ---- submitting without leaving the page ----
  const submit = form.querySelector('#nr-submit');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems();
    let refused = false;
    if (!lifecycle) {
      await checkFile();
      if (!fileInput.files.length && !fileInput.dataset.copyUrl) refused = showProblem('document', fileInput.validationMessage || text.not_pdf);
      else if (fileProblem) refused = showProblem('document', fileProblem);
    }
    for (const el of form.querySelectorAll('[required]')) {
      if (el !== fileInput && !el.checkValidity()) {
        const holder = el.closest('[data-field]');
        refused = (holder && showProblem(holder.dataset.field, el.validationMessage)) || true;
      }
    }
    if (refused) {
      showGeneral(text.refused);
      form.querySelector('.has-error input, .has-error select')?.focus();
      return;
    }
    submit.disabled = true;
    const label = submit.textContent;
    submit.textContent = text.submitting;
    try {
      const response = await fetch(form.action, {
        method: 'POST', body: new FormData(form), credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      let answer = null;
      try { answer = await response.json(); } catch { answer = null; }
      if (response.ok && answer?.location) {
        window.location.assign(answer.location);
        return;
      }
      const error = answer?.error;
      showGeneral(`${text.refused} ${error?.message || response.statusText}`);
      for (const problem of error?.problems || []) {
        if (problem.field) showProblem(problem.field, problem.message);
      }
      form.querySelector('.has-error input, .has-error select')?.focus();
    } catch {
      showGeneral(text.failed);
    } finally {
      submit.disabled = false;
      submit.textContent = label;
    }
  });
}
