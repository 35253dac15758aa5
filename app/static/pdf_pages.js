// A PDF's pages drawn in the app with pdf.js (app/static/vendor/pdfjs, from npm): one page at a
// time on a canvas, with the conversions between the canvas's CSS pixels and the page's points
// that a seal's placement ({page, x, y, size}: points from the page's lower-left corner) needs.
// Used by the task page (the proposed seal drawn on its page) and the new-request page (the seal
// dragged onto the page). An ES module: <script type="module">.

const VENDOR = document.querySelector('meta[name="sf-vendor"]')?.content || '/static/vendor';
let pdfjs = null;

async function library() {
  if (!pdfjs) {
    pdfjs = await import(`${VENDOR}/pdfjs/pdf.min.mjs`);
    pdfjs.GlobalWorkerOptions.workerSrc = `${VENDOR}/pdfjs/pdf.worker.min.mjs`;
  }
  return pdfjs;
}

export class PdfPages {
  // `holder`: an element the page's canvas goes into, as wide as it is (at most `maxWidth`).
  constructor(holder, { maxWidth = 900 } = {}) {
    this.holder = holder;
    this.maxWidth = maxWidth;
    this.doc = null;
    this.pageNo = 0;
    this.viewport = null;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'sf-pdf-canvas';
    holder.appendChild(this.canvas);
    this.rendering = null;
  }

  // `source`: a URL (the session's cookie goes with it) or the bytes of a chosen file.
  async open(source) {
    const lib = await library();
    const args = typeof source === 'string' ? { url: source, withCredentials: true }
      : { data: source };
    if (this.doc) await this.doc.destroy();
    this.doc = await lib.getDocument({ ...args, isEvalSupported: false }).promise;
    return this.doc.numPages;
  }

  get pageCount() { return this.doc ? this.doc.numPages : 0; }

  // Draws page `n` (1-based) to fit the holder's width; resolves with the page's size in points.
  async show(n) {
    const page = await this.doc.getPage(n);
    const natural = page.getViewport({ scale: 1 });
    const width = Math.min(this.holder.clientWidth || this.maxWidth, this.maxWidth);
    const scale = width / natural.width;
    this.viewport = page.getViewport({ scale });
    this.pageNo = n;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.floor(this.viewport.width * ratio);
    this.canvas.height = Math.floor(this.viewport.height * ratio);
    this.canvas.style.width = `${this.viewport.width}px`;
    this.canvas.style.height = `${this.viewport.height}px`;
    if (this.rendering) this.rendering.cancel();
    this.rendering = page.render({
      canvas: this.canvas,
      canvasContext: this.canvas.getContext('2d'),
      viewport: this.viewport,
      transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
    });
    try {
      await this.rendering.promise;
    } catch (error) {
      if (error?.name !== 'RenderingCancelledException') throw error;
    } finally {
      this.rendering = null;
    }
    return { width: natural.width, height: natural.height, scale };
  }

  // CSS pixels on the canvas -> the page's points (lower-left origin), and back. The page's
  // user space is taken to start at its media box's corner, as for almost every PDF.
  toPoints(cssX, cssY) {
    const [x, y] = this.viewport.convertToPdfPoint(cssX, cssY);
    return { x, y };
  }

  toPixels(x, y) {
    const [cssX, cssY] = this.viewport.convertToViewportPoint(x, y);
    return { x: cssX, y: cssY };
  }

  // The CSS-pixel rectangle of a square seal of `size` points whose lower-left corner is at
  // (x, y) points: {left, top, width, height}, for an overlay positioned over the canvas.
  squareToPixels({ x, y, size }) {
    const a = this.toPixels(x, y);
    const b = this.toPixels(x + size, y + size);
    return { left: Math.min(a.x, b.x), top: Math.min(a.y, b.y),
             width: Math.abs(b.x - a.x), height: Math.abs(b.y - a.y) };
  }
}
