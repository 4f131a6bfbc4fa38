import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { data, runtime } from '../../sdk';
import { cleanup, copyOfTiny, readJson, tempDir, tinyDataset, writeJson } from './helpers';

async function loadError(dir: string, opts?: { checkImages?: boolean }): Promise<InstanceType<typeof runtime.DatasetError>> {
  try {
    await data.loadSafeEraser(dir, opts);
  } catch (e) {
    assert.instance(e, runtime.DatasetError);
    return e as InstanceType<typeof runtime.DatasetError>;
  }
  assert.unreachable('loadSafeEraser should have thrown');
  throw new Error('unreachable');
}

test('loads the generated dataset: splits, categories, counts', async () => {
  const dir = await tinyDataset();
  const ds = await data.loadSafeEraser(dir, { checkImages: true });
  assert.is(ds.dir, path.resolve(dir));
  assert.is(ds.train.length, 12);
  assert.is(ds.val.length, 12);
  assert.ok(ds.refusals.length >= 20);
  assert.is(ds.utility.length, 38);
  const c = ds.counts();
  assert.equal(c.records, { train: 12, val: 12 });
  assert.equal(c.unsafePairs, { train: 48, val: 48 });
  assert.equal(c.retainPairs, { train: 48, val: 48 });
  assert.is(c.qaPairs, 48 * 2 + 48 * 2 + 38);
  assert.is(c.images, 24 + 24 + 13);
  for (const cat of data.CATEGORIES) assert.equal(c.byCategory[cat], { train: 2, val: 2 });
  assert.is(ds.categoryOf('train', 0), path.basename(path.dirname(ds.train[0].image_path)));
  assert.is(ds.imagePath('Weapon/x.png'), path.join(path.resolve(dir), 'Weapon', 'x.png'));
});

test('category comes from the parent folder, else the category field; variants normalised', () => {
  assert.is(data.recordCategory({ image_path: 'Weapon/1.png' }).category, 'Weapon');
  assert.is(data.recordCategory({ image_path: 'illegal_activity/1.png' }).category, 'IllegalActivity');
  assert.is(data.recordCategory({ image_path: 'imgs/1.png', category: 'Hate Speech' }).category, 'HateSpeech');
  assert.is(data.recordCategory({ image_path: '1.png', category: 'sex' }).category, 'Sex');
  assert.is(data.recordCategory({ image_path: 'imgs/1.png' }).category, undefined);
});

test('toFrame: one row per QA pair with the documented columns', async () => {
  const ds = await data.loadSafeEraser(await tinyDataset());
  const f = ds.toFrame();
  assert.equal(f.columns, [...data.FRAME_COLUMNS]);
  assert.is(f.shape[0], 24 * 12 + 38);
  const kinds = f['kind'].values as string[];
  const count = (k: string) => kinds.filter((x) => x === k).length;
  assert.is(count('forget'), 96);
  assert.is(count('sd'), 96);
  assert.is(count('retain_text'), 48);
  assert.is(count('retain_image'), 48);
  assert.is(count('utility'), 38);
  const row0 = f.iloc({ rows: [0] });
  assert.is(row0['id'].values[0], 'train/0/forget/0');
  assert.is(row0['answer'].values[0], ds.train[0].unsafe_pairs[0].model_response);
  assert.is(row0['image'].values[0], ds.train[0].image_path);
  assert.is(row0['category'].values[0], ds.categoryOf('train', 0));
  const textRows = (f['image'].values as string[]).filter((_, i) => kinds[i] === 'retain_text');
  assert.ok(textRows.every((x) => x === ''));
});

test('save then load gives back the same dataset, unknown fields included', async () => {
  const src = await copyOfTiny('roundtrip');
  const train = readJson(path.join(src, 'all_train.json'));
  train[0].model_response1 = 'an official evaluation field';
  train[0].unsafe_pairs[0].gpt_result_ASR_model_response1 = 'Unsafe';
  train[0].UnharmPair_text1['ROUGE-L'] = 0.5;
  train[1].image_id = 'img-1';
  writeJson(path.join(src, 'all_train.json'), train);
  const ds = await data.loadSafeEraser(src);
  const out = path.join(tempDir('saved'), 'copy');
  await data.saveSafeEraser(ds, out);
  const back = await data.loadSafeEraser(out, { checkImages: true });
  assert.equal(back.train, ds.train);
  assert.equal(back.val, ds.val);
  assert.equal(back.refusals, ds.refusals);
  assert.equal(back.utility, ds.utility);
  assert.is(back.train[0].model_response1, 'an official evaluation field');
  assert.is(back.train[0].unsafe_pairs[0].gpt_result_ASR_model_response1, 'Unsafe');
  // images were copied byte for byte
  const rel = ds.train[0].image_path;
  assert.ok(fs.readFileSync(path.join(out, rel)).equals(fs.readFileSync(path.join(src, rel))));
  // saving over its own folder works (atomic replace)
  back.refusals = ['No.'];
  await data.saveSafeEraser(back, out);
  assert.equal((await data.loadSafeEraser(out)).refusals, ['No.']);
  cleanup(path.dirname(out));
  cleanup(path.dirname(src));
});

test('the official repository layout (image paths from the repo root, dataset/ prefix) loads and saves', async () => {
  const src = await copyOfTiny('official-layout');
  const repo = path.join(tempDir('repo'), 'SafeEraser');
  fs.mkdirSync(repo);
  const dsDir = path.join(repo, 'dataset');
  fs.renameSync(src, dsDir);
  const prefix = (f: string) => {
    const recs = readJson(path.join(dsDir, f));
    for (const r of recs) for (const k of ['image_path', 'SDImage_path']) if (r[k]) r[k] = `dataset/${r[k]}`;
    writeJson(path.join(dsDir, f), recs);
  };
  prefix('all_train.json');
  prefix('all_val.json');
  const ds = await data.loadSafeEraser(dsDir, { checkImages: true });
  const rel = ds.train[0].image_path;
  assert.ok(rel.startsWith('dataset/'));
  assert.is(ds.imagePath(rel), path.join(repo, rel));
  assert.is(data.resolveImagePath(dsDir, rel.slice('dataset/'.length)), path.join(dsDir, rel.slice('dataset/'.length)));
  assert.ok(['Violence', 'Weapon', 'Privacy', 'Sex', 'HateSpeech', 'IllegalActivity'].includes(ds.categoryOf('train', 0)));
  // saved elsewhere, the paths become relative to the new folder; with a prefix, official again
  const out = path.join(tempDir('saved-official'), 'copy');
  await data.saveSafeEraser(ds, out);
  const back = await data.loadSafeEraser(out, { checkImages: true });
  assert.is(back.train[0].image_path, rel.slice('dataset/'.length));
  assert.equal(back.counts(), ds.counts());
  // a prefixed path that exists nowhere is still reported as missing
  const train = readJson(path.join(dsDir, 'all_train.json'));
  train[0].image_path = 'dataset/Weapon/none.png';
  writeJson(path.join(dsDir, 'all_train.json'), train);
  const e = await loadError(dsDir);
  assert.match(e.message, "all_train.json[0].image_path: image 'dataset/Weapon/none.png' not found in the dataset folder");
  cleanup(path.dirname(out));
  cleanup(path.dirname(repo));
});

test('a failed save leaves the previous dataset untouched (temp folder, then rename)', async () => {
  const src = await copyOfTiny('atomic');
  const ds = await data.loadSafeEraser(src);
  const out = path.join(tempDir('atomic-out'), 'copy');
  await data.saveSafeEraser(ds, out);
  const before = fs.readFileSync(path.join(out, 'all_train.json'), 'utf8');
  ds.train[0].image_path = 'Weapon/missing.png';
  try {
    await data.saveSafeEraser(ds, out);
    assert.unreachable('save should fail');
  } catch (e) {
    assert.instance(e, runtime.DatasetError);
    assert.match((e as Error).message, "Weapon/missing.png: image 'Weapon/missing.png' not found in the dataset folder");
  }
  assert.is(fs.readFileSync(path.join(out, 'all_train.json'), 'utf8'), before);
  assert.equal(fs.readdirSync(path.dirname(out)), ['copy']);
  cleanup(path.dirname(out));
  cleanup(path.dirname(src));
});

test('missing files: every one is listed', async () => {
  const dir = await copyOfTiny('missing');
  fs.rmSync(path.join(dir, 'all_val.json'));
  fs.rmSync(path.join(dir, 'prompt.json'));
  const e = await loadError(dir);
  assert.is(e.issues.length, 2);
  assert.equal(e.issues.map((i) => i.file), ['all_val.json', 'prompt.json']);
  assert.is(
    e.message,
    `Cannot load SafeEraser dataset ${dir} (2 problems):\n` +
      '  - all_val.json: file not found (a SafeEraser dataset folder holds all_train.json, all_val.json and prompt.json)\n' +
      '  - prompt.json: file not found (a SafeEraser dataset folder holds all_train.json, all_val.json and prompt.json)',
  );
  const e2 = await loadError(path.join(dir, 'nope'));
  assert.match(e2.message, 'folder not found');
  cleanup(path.dirname(dir));
});

test('invalid JSON is reported with line and column', async () => {
  const dir = await copyOfTiny('badjson');
  fs.writeFileSync(path.join(dir, 'all_val.json'), '[\n  {"image_path": "a",\n  }\n]');
  fs.writeFileSync(path.join(dir, 'prompt.json'), '{"idk": ["x"');
  const e = await loadError(dir);
  assert.is(e.issues.length, 2);
  assert.is(e.issues[0].path, 'all_val.json');
  assert.is(e.issues[0].message, 'invalid JSON at line 3, column 3: Expected double-quoted property name');
  assert.is(e.issues[1].file, 'prompt.json');
  assert.match(e.issues[1].message, /^invalid JSON at line 1, column 13: /);
  cleanup(path.dirname(dir));
});

test('missing fields, wrong types and empty unsafe_pairs: all listed with file, record and field', async () => {
  const dir = await copyOfTiny('fields');
  const train = readJson(path.join(dir, 'all_train.json'));
  delete train[1].SDImage_path;
  train[2].unsafe_pairs[3].model_response = 42;
  train[3].unsafe_pairs = [];
  train[4].UnharmPair_image2 = { Question: 'q' };
  train[5].image_id = true;
  writeJson(path.join(dir, 'all_train.json'), train);
  const val = readJson(path.join(dir, 'all_val.json'));
  val[0] = 'not a record';
  writeJson(path.join(dir, 'all_val.json'), val);
  writeJson(path.join(dir, 'prompt.json'), { idk: [] });
  const e = await loadError(dir);
  const got = e.issues.map((i) => [i.file, i.record, i.field, i.message]);
  assert.equal(got, [
    ['all_train.json', 1, 'SDImage_path', 'missing (expected string)'],
    ['all_train.json', 2, 'unsafe_pairs[3].model_response', 'expected string, got number'],
    ['all_train.json', 3, 'unsafe_pairs', 'must hold at least one pair (found 0)'],
    ['all_train.json', 4, 'UnharmPair_image2.Prediction', 'missing (expected string)'],
    ['all_train.json', 5, 'image_id', 'expected string or number, got boolean'],
    ['all_val.json', 0, undefined, 'expected an object, got string'],
    ['prompt.json', undefined, 'idk', 'must hold at least one refusal sentence (found 0)'],
  ]);
  assert.match(e.message, '(7 problems)');
  assert.match(e.message, '  - all_train.json[2].unsafe_pairs[3].model_response: expected string, got number');
  cleanup(path.dirname(dir));
});

test('image paths that do not exist or escape the folder', async () => {
  const dir = await copyOfTiny('paths');
  const train = readJson(path.join(dir, 'all_train.json'));
  train[0].image_path = 'Weapon/none.png';
  train[1].SDImage_path = '../outside.png';
  train[2].image_path = '/etc/Weapon/passwd';
  writeJson(path.join(dir, 'all_train.json'), train);
  const util = readJson(path.join(dir, 'utility.json'));
  util[4].image_path = 'utility/gone.png';
  writeJson(path.join(dir, 'utility.json'), util);
  const e = await loadError(dir);
  assert.equal(
    e.issues.map((i) => `${i.path}: ${i.message}`),
    [
      "all_train.json[0].image_path: image 'Weapon/none.png' not found in the dataset folder",
      "all_train.json[1].SDImage_path: path '../outside.png' escapes the dataset folder",
      "all_train.json[2].image_path: path '/etc/Weapon/passwd' escapes the dataset folder",
      "utility.json[4].image_path: image 'utility/gone.png' not found in the dataset folder",
    ],
  );
  assert.equal(e.issues.map((i) => i.record), [0, 1, 2, 4]);
  cleanup(path.dirname(dir));
});

test('corrupt or non-image files are found with checkImages', async () => {
  const dir = await copyOfTiny('corrupt');
  const train = readJson(path.join(dir, 'all_train.json'));
  fs.writeFileSync(path.join(dir, train[0].image_path), 'this is not a png');
  fs.writeFileSync(path.join(dir, train[3].SDImage_path), Buffer.alloc(0));
  const ds = await data.loadSafeEraser(dir); // the default load only checks existence
  assert.is(ds.train.length, 12);
  const e = await loadError(dir, { checkImages: true });
  assert.equal(e.issues.map((i) => [i.file, i.record, i.field]), [
    ['all_train.json', 0, 'image_path'],
    ['all_train.json', 3, 'SDImage_path'],
  ]);
  assert.match(e.issues[0].message, `'${train[0].image_path}' is not a readable image (`);
  cleanup(path.dirname(dir));
});

test('unknown category from folder or field', async () => {
  const dir = await copyOfTiny('category');
  const train = readJson(path.join(dir, 'all_train.json'));
  fs.mkdirSync(path.join(dir, 'Animals'));
  fs.copyFileSync(path.join(dir, train[0].image_path), path.join(dir, 'Animals', 'cat.png'));
  train[0].image_path = 'Animals/cat.png';
  delete train[0].category;
  train[1].category = 'Gambling';
  writeJson(path.join(dir, 'all_train.json'), train);
  const e = await loadError(dir);
  assert.equal(e.issues.map((i) => [i.record, i.field]), [[0, 'image_path'], [1, 'category']]);
  assert.is(
    e.issues[0].message,
    "unknown category: the image's parent folder 'Animals' is not a category and the record has no 'category' field. Must be one of [Violence, Weapon, Privacy, Sex, HateSpeech, IllegalActivity]",
  );
  assert.is(e.issues[1].message, "unknown category 'Gambling'. Must be one of [Violence, Weapon, Privacy, Sex, HateSpeech, IllegalActivity]");
  // the category field alone is enough when the folder is not a category
  train[0].category = 'Privacy';
  train[1].category = 'Weapon';
  writeJson(path.join(dir, 'all_train.json'), train);
  const ds = await data.loadSafeEraser(dir);
  assert.is(ds.categoryOf('train', 0), 'Privacy');
  cleanup(path.dirname(dir));
});

test.run();
