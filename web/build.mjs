// Builds Sealflow's browser assets from node_modules into app/static/vendor (never committed):
// the modeler bundle (bpmn-js + Camunda 7 properties panel + behaviors + moddle), the dmn-js
// modeler bundle, and copies of the bpmn-js navigated viewer and pdf.js as shipped.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const out = join(here, '..', 'app', 'static', 'vendor');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
  // The fonts as files: the embedded (data: URI) variants fail to decode in Chromium.
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  outdir: out,
};

await esbuild.build({ ...common, entryPoints: { modeler: join(here, 'src/modeler.js') },
                      globalName: 'FlowModeler' });
await esbuild.build({ ...common, entryPoints: { dmn: join(here, 'src/dmn.js') },
                      globalName: 'FlowDmn' });

const copy = (from, to) => cpSync(join(modules, from), join(out, to), { recursive: true });
copy('bpmn-js/dist/bpmn-navigated-viewer.production.min.js', 'viewer/bpmn-navigated-viewer.js');
copy('bpmn-js/dist/assets', 'viewer/assets');
copy('bpmn-js/LICENSE', 'viewer/LICENSE');
copy('pdfjs-dist/build/pdf.min.mjs', 'pdfjs/pdf.min.mjs');
copy('pdfjs-dist/build/pdf.worker.min.mjs', 'pdfjs/pdf.worker.min.mjs');
copy('pdfjs-dist/LICENSE', 'pdfjs/LICENSE');
console.log(`built ${out}`);
