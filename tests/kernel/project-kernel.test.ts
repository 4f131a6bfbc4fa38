// kernel/project-kernel.js: headless notebook runs use this checkout's tslab, even when the
// user's registered `tslab` kernelspec points at another checkout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const { projectKernelEnv, listKernelspecs, isThisCheckout } = require('../../kernel/project-kernel');
const base = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' };

function registerElsewhere(dir: string): void {
  const spec = path.join(dir, 'kernels', 'tslab');
  fs.mkdirSync(spec, { recursive: true });
  const argv = [process.execPath, '/elsewhere/node_modules/tslab/bin/tslab', 'kernel', '--config-path', '{connection_file}'];
  fs.writeFileSync(path.join(spec, 'kernel.json'), JSON.stringify({ argv, display_name: 'TypeScript', language: 'typescript' }));
}

test('a tslab kernelspec of another checkout is shadowed by a private one for this checkout', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-other-'));
  try {
    registerElsewhere(dir);
    const env = { ...base, JUPYTER_PATH: dir };
    assert.not.ok(isThisCheckout(listKernelspecs(env).tslab), 'the fake registration is what jupyter sees first');
    const r = projectKernelEnv(env);
    assert.not.ok(r.error, r.error);
    assert.match(r.note, /runs another checkout; using this checkout's kernel from /);
    const seen = listKernelspecs(r.env).tslab;
    assert.ok(isThisCheckout(seen), `jupyter now lists ${seen && seen.resource_dir}`);
    const spec = JSON.parse(fs.readFileSync(path.join(seen.resource_dir, 'kernel.json'), 'utf8'));
    assert.is(spec.argv[1], path.join(root, 'kernel', 'jupyter-kernel.js'));
    assert.ok(r.env.JUPYTER_PATH.split(path.delimiter).includes(dir), 'the caller\'s JUPYTER_PATH is kept after the private folder');
    // the private kernel is this checkout's: a second call changes nothing
    const again = projectKernelEnv(r.env);
    assert.is(again.note, '');
    assert.is(again.env.JUPYTER_PATH, r.env.JUPYTER_PATH);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without jupyter on PATH the error names the Debian packages', () => {
  const r = projectKernelEnv({ ...base, PATH: '/nonexistent' });
  assert.is(r.error, 'jupyter is not installed (Debian: apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel)');
});

test.run();
