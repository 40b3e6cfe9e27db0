// Bundles src/*.js (and the CSS they import) into dist/, which the app serves at /static/vendor/.
// Run: npm ci && npm run build
import * as esbuild from 'esbuild';
import { rmSync, statSync, readdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, 'dist');

const entries = {
  'bpmn/viewer': 'src/viewer.js',
  'bpmn/modeler': 'src/modeler.js',
  'dmn/dmn': 'src/dmn.js',
  'form-js/form-editor': 'src/form-editor.js',
  'charts/charts': 'src/charts.js',
};

for (const dir of ['bpmn', 'dmn', 'form-js', 'charts', 'fonts']) {
  rmSync(join(outdir, dir), { recursive: true, force: true });
}

await esbuild.build({
  absWorkingDir: here,
  entryPoints: entries,
  outdir,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: {
    '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file',
    '.json': 'json',
  },
  assetNames: 'fonts/[name]-[hash]',
  logLevel: 'info',
});

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]);
}
for (const f of walk(outdir).sort()) {
  console.log(`${(statSync(f).size / 1024).toFixed(0).padStart(7)} KiB  ${relative(outdir, f)}`);
}
