// The task page's document (app/templates/task.html): the request's PDF drawn in the page with
// pdf.js (PdfPages, app/static/pdf_pages.js), one page at a time as wide as the card allows,
// with the seal's proposed square drawn on its page (request.placement {page, x, y, size} in
// points from the page's lower-left corner; none: the signer's default, bottom right of the
// last page). Its words come from the template (data-msg-*).

import { PdfPages } from './pdf_pages.js';

const card = document.getElementById('doc-view');

function parsed(text) {
  try { return JSON.parse(text || '{}'); } catch { return {}; }
}

async function start() {
  const stage = card.querySelector('.doc-page');
  const box = card.querySelector('.seal-box');
  const where = card.querySelector('[data-where]');
  const prev = card.querySelector('[data-go="prev"]');
  const next = card.querySelector('[data-go="next"]');
  const toSeal = card.querySelector('[data-go="seal"]');
  const placement = parsed(card.dataset.placement);
  const fallback = parsed(card.dataset.default);
  const pdf = new PdfPages(stage, { maxWidth: 1200 });
  stage.insertBefore(pdf.canvas, box);  // the square is drawn over the canvas
  const count = await pdf.open(card.dataset.url);
  let square = null;
  if (placement.x !== undefined) {
    square = { page: placement.page || count, x: placement.x, y: placement.y,
               size: placement.size || fallback.size };
  }
  let current = 0;

  async function show(n) {
    current = Math.min(Math.max(n, 1), count);
    const size = await pdf.show(current);
    where.textContent = card.dataset.msgWhere.replace('{n}', current).replace('{of}', count);
    prev.disabled = current <= 1;
    next.disabled = current >= count;
    let seal = square;
    if (!seal && current === count) {  // the signer's default: bottom right of the last page
      const side = fallback.size;
      seal = { page: count, x: Math.max(size.width - fallback.margin - side, 0),
               y: Math.min(fallback.margin, Math.max(size.height - side, 0)), size: side };
    }
    if (seal && seal.page === current) {
      const rect = pdf.squareToPixels(seal);
      Object.assign(box.style, { left: `${rect.left}px`, top: `${rect.top}px`,
                                 width: `${rect.width}px`, height: `${rect.height}px` });
      box.hidden = false;
      box.dataset.page = String(current);
    } else {
      box.hidden = true;
    }
  }

  prev.addEventListener('click', () => show(current - 1));
  next.addEventListener('click', () => show(current + 1));
  toSeal?.addEventListener('click', () => show(square ? square.page : count));
  let resized = null;
  window.addEventListener('resize', () => {
    clearTimeout(resized);
    resized = setTimeout(() => show(current), 200);  // the page fits the card's new width
  });
  await show(1);
  card.dataset.ready = 'true';
}

if (card) {
  start().catch((error) => {
    const problem = card.querySelector('.doc-problem');
    problem.textContent = card.dataset.msgFailed;
    problem.hidden = false;
    console.warn('the document could not be drawn', error);  // eslint-disable-line no-console
  });
}
