/**
 * Dataset paths stay inside the dataset folder with symbolic links resolved (realpath): a link
 * inside the folder pointing out of it is refused by the loader, by every image reader, by
 * saveSafeEraser / export-official --with-dataset and by `eraserlab unlearn`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { data, runtime } from '../../sdk';
import { capture, savedTinyModel, tempDir, tinyDataset } from './helpers';

/** A copy of the tiny dataset whose first record's image is `Weapon/etcdir/passwd`, etcdir → /etc. */
async function symlinkDataset(): Promise<string> {
  const src = await tinyDataset();
  const dir = path.join(tempDir('symlink'), 'ds');
  fs.cpSync(src.dir, dir, { recursive: true });
  fs.rmSync(path.join(dir, '.eraserlab'), { force: true });
  fs.mkdirSync(path.join(dir, 'Weapon'), { recursive: true });
  fs.symlinkSync('/etc', path.join(dir, 'Weapon', 'etcdir'));
  const train = JSON.parse(fs.readFileSync(path.join(dir, 'all_train.json'), 'utf8'));
  train[0].image_path = 'Weapon/etcdir/passwd';
  fs.writeFileSync(path.join(dir, 'all_train.json'), JSON.stringify(train, null, 2));
  return dir;
}

test('loadSafeEraser refuses an image path that leaves the folder through a symlink', async () => {
  const dir = await symlinkDataset();
  try {
    await data.loadSafeEraser(dir);
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.DatasetError);
    assert.is(
      (e as Error).message,
      `Cannot load SafeEraser dataset ${dir} (1 problem):\n  - all_train.json[0].image_path: path 'Weapon/etcdir/passwd' leads out of the dataset folder through a symbolic link (to /etc/passwd)`,
    );
  }
  // a link that stays inside the folder is fine
  const inside = path.join(dir, 'Weapon', 'alias.png');
  const ds0 = await tinyDataset();
  fs.symlinkSync(path.join(dir, ds0.train[1].image_path), inside);
  const train = JSON.parse(fs.readFileSync(path.join(dir, 'all_train.json'), 'utf8'));
  train[0].image_path = 'Weapon/alias.png';
  fs.writeFileSync(path.join(dir, 'all_train.json'), JSON.stringify(train));
  const ok = await data.loadSafeEraser(dir, { checkImages: true });
  assert.is(ok.train[0].image_path, 'Weapon/alias.png');
});

test('readers and saveSafeEraser check again (records changed after loading)', async () => {
  const src = await tinyDataset();
  const dir = path.join(tempDir('reader'), 'ds');
  fs.cpSync(src.dir, dir, { recursive: true });
  const ds = await data.loadSafeEraser(dir);
  fs.symlinkSync('/etc', path.join(dir, 'Weapon', 'etcdir'));
  ds.train[0].image_path = 'Weapon/etcdir/passwd';
  assert.throws(() => ds.imagePath('Weapon/etcdir/passwd'), (e: Error) => e instanceof runtime.DatasetError && /leads out of the dataset folder through a symbolic link \(to \/etc\/passwd\)/.test(e.message));
  assert.throws(() => data.examples(ds, 'train', 'forget'), (e: Error) => e instanceof runtime.DatasetError && /Weapon\/etcdir\/passwd/.test(e.message));
  const out = path.join(tempDir('reader-save'), 'copy');
  try {
    await data.saveSafeEraser(ds, out);
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.DatasetError);
    assert.match((e as Error).message, "Weapon/etcdir/passwd: path 'Weapon/etcdir/passwd' leads out of the dataset folder through a symbolic link (to /etc/passwd)");
  }
  assert.not.ok(fs.existsSync(out), 'nothing was written');
});

test('eraserlab unlearn --dataset with the symlink is refused before any training', async () => {
  const dir = await symlinkDataset();
  const modelDir = await savedTinyModel();
  const out = path.join(tempDir('unlearn-symlink'), 'runs');
  const r = await capture(['unlearn', '--method', 'ga', '--steps', '1', '--model', modelDir, '--dataset', dir, '--out', out, '--probe', '1']);
  assert.is(r.rc, 1);
  assert.match(r.err, `DatasetError: Cannot load SafeEraser dataset ${dir} (1 problem):\n  - all_train.json[0].image_path: path 'Weapon/etcdir/passwd' leads out of the dataset folder through a symbolic link`);
  assert.not.ok(fs.existsSync(path.join(out, 'ga')));
});

test.run();
