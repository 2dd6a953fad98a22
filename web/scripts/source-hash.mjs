// Writes internal/webui/source.sha256: a digest of every input of the build
// (index.html, vite.config.js, package.json, package-lock.json, src/**, public/**). The Go
// test in internal/webui recomputes it, so a change to the sources without a
// rebuild of the committed dist fails `go test` even where npm is not installed.
// Digest: SHA-256 over the sorted lines "<path relative to web/>\0<hex sha256 of the file>\n".
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const files = ['index.html', 'vite.config.js', 'package.json', 'package-lock.json'].map((f) => join(web, f));
walk(join(web, 'src'), files);
walk(join(web, 'public'), files);
const lines = files
  .map((p) => relative(web, p).split(sep).join('/'))
  .sort()
  .map((rel) => `${rel}\0${createHash('sha256').update(readFileSync(join(web, rel))).digest('hex')}\n`);
const digest = createHash('sha256').update(lines.join('')).digest('hex');
writeFileSync(join(web, '..', 'internal', 'webui', 'source.sha256'), digest + '\n');
console.log(`source.sha256 ${digest}`);
