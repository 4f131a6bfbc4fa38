'use strict';
// Make sure headless notebook runs (scripts/run-notebooks.js, the render test) execute with
// THIS checkout's kernel. The `tslab` kernelspec registered with the user's Jupyter may
// point at another checkout (or a removed one); then a private kernelspec for this checkout is
// written into a temp folder and put first on JUPYTER_PATH, leaving the user's registration as
// it is.
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const kernelJs = path.join(root, 'kernel', 'jupyter-kernel.js');

/** The kernelspecs Jupyter lists under `env`, or undefined when `jupyter` cannot run. */
function listKernelspecs(env) {
  const r = spawnSync('jupyter', ['kernelspec', 'list', '--json'], { encoding: 'utf8', env });
  if (r.error || r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout).kernelspecs || {};
  } catch {
    return {};
  }
}

/** Whether a listed kernelspec runs this checkout's kernel. */
function isThisCheckout(spec) {
  if (!spec || !spec.resource_dir) return false;
  try {
    const json = JSON.parse(fs.readFileSync(path.join(spec.resource_dir, 'kernel.json'), 'utf8'));
    return Array.isArray(json.argv) && path.resolve(String(json.argv[1] || '')) === kernelJs;
  } catch {
    return false;
  }
}

/**
 * The environment under which `jupyter ... --ExecutePreprocessor.kernel_name=tslab` runs this
 * checkout's kernel. Returns `{ env, note }` (note: what was done, or '' when the registered
 * kernel already is this checkout's), or `{ error }` when Jupyter or the install fails.
 */
function projectKernelEnv(baseEnv = process.env) {
  const env = { ...baseEnv, PYDEVD_DISABLE_FILE_VALIDATION: '1' };
  const specs = listKernelspecs(env);
  if (specs === undefined) {
    return { error: 'jupyter is not installed (Debian: apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel)' };
  }
  if (isThisCheckout(specs.tslab)) return { env, note: '' };
  const hash = crypto.createHash('sha256').update(root).digest('hex').slice(0, 12);
  const dataDir = path.join(os.tmpdir(), `eraserlab-kernel-${hash}`);
  const jupyterPath = [dataDir, env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  const privateEnv = { ...env, JUPYTER_PATH: jupyterPath };
  const inst = spawnSync(process.execPath, [path.join(__dirname, 'install.js'), '--data-dir', dataDir, '--quiet'], { encoding: 'utf8', env: privateEnv });
  if (inst.status !== 0) return { error: `kernel/install.js failed: ${(inst.stderr || inst.stdout || '').trim()}` };
  const where = specs.tslab ? `the registered tslab kernel (${specs.tslab.resource_dir}) runs another checkout` : 'no tslab kernel is registered';
  return { env: privateEnv, note: `${where}; using this checkout's kernel from ${dataDir}` };
}

module.exports = { projectKernelEnv, isThisCheckout, listKernelspecs };
