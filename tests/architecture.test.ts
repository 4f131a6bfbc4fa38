// The layering of docs/architecture.md, checked on the sources: each sdk/ folder imports only
// the folders its row allows, only sdk/runtime imports a tfjs package by name, sdk/ never
// imports tslab, and nothing in the repository cites a design document outside it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const sdk = path.join(root, 'sdk');

/** The "may import" column of docs/architecture.md. */
const ALLOWED: Record<string, readonly string[]> = {
  runtime: [],
  text: [],
  data: ['runtime'],
  model: ['runtime', 'text', 'data'],
  boundary: ['runtime', 'model'],
  unlearn: ['runtime', 'text', 'data', 'model'],
  judge: ['runtime', 'text', 'data'],
  metrics: ['runtime', 'text', 'data', 'model', 'judge'],
  attacks: ['runtime', 'text', 'data', 'model', 'unlearn', 'judge', 'metrics'],
  plots: ['runtime', 'data', 'metrics'],
  experiment: ['runtime', 'text', 'data', 'model', 'boundary', 'unlearn', 'judge', 'metrics', 'attacks', 'plots'],
  cli: ['runtime', 'text', 'data', 'model', 'boundary', 'unlearn', 'judge', 'metrics', 'attacks', 'plots', 'experiment'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers of static imports, re-exports, dynamic imports and requires. */
function specifiers(src: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  return [...src.matchAll(re)].map((m) => m[1]);
}

const folderOf = (file: string): string => path.relative(sdk, file).split(path.sep)[0];

test('every sdk/ folder imports only the layers docs/architecture.md allows it', () => {
  const bad: string[] = [];
  let edges = 0;
  for (const file of sources(sdk)) {
    const from = folderOf(file);
    if (from.endsWith('.ts')) continue; // sdk/index.ts, the entry, imports every namespace
    assert.ok(from in ALLOWED, `sdk/${from}/ is not in docs/architecture.md's layer table`);
    for (const s of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (!s.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), s);
      if (!target.startsWith(sdk + path.sep)) {
        bad.push(`${path.relative(root, file)} imports ${s} (outside sdk/)`);
        continue;
      }
      const to = folderOf(target);
      if (to === from) continue;
      edges++;
      if (!ALLOWED[from].includes(to)) bad.push(`${path.relative(root, file)} (${from}) imports ${s} (${to})`);
    }
  }
  assert.ok(edges > 50, `only ${edges} cross-folder imports found: is the import scan broken?`);
  assert.equal(bad, []);
});

test('only sdk/runtime imports a tfjs package by name; sdk/ never imports tslab', () => {
  const bad: string[] = [];
  for (const file of sources(sdk)) {
    for (const s of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (s.startsWith('@tensorflow/') && folderOf(file) !== 'runtime') bad.push(`${path.relative(root, file)} imports ${s}`);
      if (s === 'tslab' || s.startsWith('tslab/')) bad.push(`${path.relative(root, file)} imports ${s}`);
    }
  }
  assert.equal(bad, []);
});

test('no tracked file cites a design document outside the repository', () => {
  const name = ['DESIGN', 'md'].join('.'); // spelled apart so this file does not match itself
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(files.length > 100, `git listed only ${files.length} files`);
  const hits = files.filter((f) => {
    const p = path.join(root, f);
    if (!fs.existsSync(p) || fs.statSync(p).size > 5_000_000) return false;
    return fs.readFileSync(p).includes(name);
  });
  assert.equal(hits, []);
});

test.run();
