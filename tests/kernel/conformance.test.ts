// The notebooks' kernel (this checkout's `tslab` kernelspec) against the Jupyter project's
// kernel conformance suite, jupyter_kernel_test (Debian: python3-jupyter-kernel-test), with
// TypeScript samples, plus the project's own checks (tests/kernel/conformance.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const { projectKernelEnv } = require('../../kernel/project-kernel');

/** The Python that runs `jupyter` (the one with jupyter_client), else python3 on PATH. */
function jupyterPython(): string {
  const which = spawnSync('sh', ['-c', 'command -v jupyter'], { encoding: 'utf8' });
  const bin = which.stdout.trim();
  if (bin) {
    const first = fs.readFileSync(bin, 'utf8').split('\n')[0];
    const m = /^#!\s*(\S+)/.exec(first);
    if (m && fs.existsSync(m[1])) return m[1];
  }
  return 'python3';
}

test('jupyter_kernel_test: every standard check and the project checks pass for the tslab kernel', () => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'kernel', 'server.js')), 'dist/kernel/server.js is built (npm run build)');
  const k = projectKernelEnv();
  assert.not.ok(k.error, k.error);
  const python = jupyterPython();
  const probe = spawnSync(python, ['-c', 'import jupyter_kernel_test'], { encoding: 'utf8' });
  assert.is(probe.status, 0, `${python} cannot import jupyter_kernel_test: install the Debian package python3-jupyter-kernel-test (scripts/setup.sh does)\n${probe.stderr}`);
  const r = spawnSync(python, ['-m', 'unittest', '-v', 'conformance'], {
    cwd: __dirname,
    env: { ...k.env, ERASERLAB_ROOT: root, PYDEVD_DISABLE_FILE_VALIDATION: '1', PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.is(r.status, 0, out.slice(-6000));
  const ran = /Ran (\d+) tests?/.exec(out);
  assert.ok(ran && Number(ran[1]) >= 22, `ran ${ran ? ran[1] : 0} tests\n${out.slice(-3000)}`);
  // Every standard check has a TypeScript sample: none is skipped.
  assert.not.match(out, /skipped/i, out.slice(-3000));
  for (const name of ['test_execute_result', 'test_error', 'test_history', 'test_is_complete', 'test_interrupt_ends_an_await', 'test_dataframe_value', 'test_type_error']) {
    assert.match(out, new RegExp(`${name} \\(conformance\\.\\w+\\.${name}\\)[^\\n]*\\.\\.\\. ok`), `${name} ran and passed`);
  }
});

test.run();
