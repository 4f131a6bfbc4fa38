import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as runtime from '../../sdk/runtime';
import * as boundary from '../../sdk/boundary';

const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) < tol;

test('PMI, LE and RE on a hand-computed corpus', () => {
  // Runs: ·中国人· and ·中国· (the comma and the line break are boundaries). H = 5.
  const s = boundary.statistics('中国人，中国', { maxN: 2, minCount: 1 });
  assert.is(s.meta.hanChars, 5);
  assert.is(s.get('中国')!.count, 2);
  assert.ok(close(s.get('中国')!.pmi, Math.log(5 / 2)), 'PMI(中国) = log (2/5)/((2/5)(2/5))');
  assert.ok(close(s.get('国人')!.pmi, Math.log(5 / 2)));
  assert.ok(close(s.get('中国')!.le, 0), 'always preceded by a boundary');
  assert.ok(close(s.get('中国')!.re, Math.log(2)), 'followed once by 人, once by a boundary');
  assert.ok(close(s.get('国')!.le, 0) && close(s.get('国')!.re, Math.log(2)));
  assert.is(s.get('中')!.pmi, 0);
  assert.is(s.get('中国人'), undefined, 'longer than maxN');
  assert.is(s.get('，'), undefined, 'non-Han characters are boundaries, not n-grams');
});

/** Brute force: every Han-run substring, neighbours collected explicitly. */
function naive(lines: string[], maxN: number) {
  const count = new Map<string, number>();
  const left = new Map<string, Map<string, number>>();
  const right = new Map<string, Map<string, number>>();
  let H = 0;
  const inc = (m: Map<string, Map<string, number>>, k: string, c: string) => {
    const mm = m.get(k) ?? new Map<string, number>();
    mm.set(c, (mm.get(c) ?? 0) + 1);
    m.set(k, mm);
  };
  for (const line of lines) {
    for (const run of line.match(/[\u4e00-\u9fff]+/g) ?? []) {
      H += run.length;
      for (let i = 0; i < run.length; i++) {
        for (let n = 1; n <= maxN && i + n <= run.length; n++) {
          const w = run.slice(i, i + n);
          count.set(w, (count.get(w) ?? 0) + 1);
          inc(left, w, i > 0 ? run[i - 1] : '#');
          inc(right, w, i + n < run.length ? run[i + n] : '#');
        }
      }
    }
  }
  const ent = (m: Map<string, number>) => {
    let t = 0;
    for (const c of m.values()) t += c;
    let h = 0;
    for (const c of m.values()) h -= (c / t) * Math.log(c / t);
    return h;
  };
  return { count, H, le: (w: string) => ent(left.get(w)!), re: (w: string) => ent(right.get(w)!) };
}

test('matches brute-force counting on a random corpus (no pruning)', () => {
  const rng = new runtime.Rng(11);
  const alphabet = '天地人和中国大小上下';
  const lines = Array.from({ length: 200 }, () => Array.from({ length: 3 + rng.int(20) }, () => (rng.next() < 0.1 ? '，' : alphabet[rng.int(alphabet.length)])).join(''));
  const s = boundary.statistics(lines, { maxN: 3, minCount: 1 });
  const ref = naive(lines, 3);
  assert.is(s.meta.hanChars, ref.H);
  assert.is(s.size, ref.count.size);
  for (const [w, c] of ref.count) {
    const st = s.get(w)!;
    assert.is(st.count, c, w);
    assert.ok(close(st.le, ref.le(w), 1e-9), `LE ${w}`);
    assert.ok(close(st.re, ref.re(w), 1e-9), `RE ${w}`);
    if (w.length > 1) {
      let pmi = Infinity;
      for (let k = 1; k < w.length; k++) pmi = Math.min(pmi, Math.log((c * ref.H) / (ref.count.get(w.slice(0, k))! * ref.count.get(w.slice(k))!)));
      assert.ok(close(st.pmi, pmi, 1e-9), `PMI ${w}`);
    }
  }
});

test('memory stays bounded: pruning keeps live entries under maxEntries and frequent n-grams exact', () => {
  const rng = new runtime.Rng(3);
  const counter = new boundary.NgramCounter({ maxN: 4, minCount: 1, maxEntries: 2000 });
  let peak = 0;
  for (let i = 0; i < 400; i++) {
    // a frequent word plus random noise characters from a large alphabet
    const noise = Array.from({ length: 30 }, () => String.fromCharCode(0x4e00 + rng.int(3000))).join('');
    counter.add(`数据${noise}，数据`);
    peak = Math.max(peak, counter.liveEntries);
  }
  assert.ok(peak <= 2000 + 30 * 5 + 20, `peak ${peak}`);
  assert.ok(counter.pruneThreshold >= 1);
  const s = counter.finish();
  assert.ok(s.meta.pruneThreshold >= 1);
  assert.is(s.get('数据')!.count, 800);
});

test('save → load round trip (plain and gzipped) keeps every entry to 4 decimals', () => {
  const s = boundary.statistics(['今天天气很好，今天我们去公园。', '天气预报说明天下雨'], { maxN: 3, minCount: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stats-'));
  for (const name of ['s.tsv', 's.tsv.gz']) {
    const f = path.join(dir, name);
    s.save(f);
    const back = boundary.NgramStatistics.load(f);
    assert.equal(back.meta, s.meta);
    assert.is(back.size, s.size);
    for (const [k, v] of s.entries()) {
      const b = back.get(k)!;
      assert.is(b.count, v.count);
      assert.ok(close(b.pmi, v.pmi, 1e-4) && close(b.le, v.le, 1e-4) && close(b.re, v.re, 1e-4), k);
    }
  }
  fs.writeFileSync(path.join(dir, 'bad.tsv'), 'hello\n');
  try {
    boundary.NgramStatistics.load(path.join(dir, 'bad.tsv'));
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, `${path.join(dir, 'bad.tsv')} is not an n-gram statistics file: its first line must be a JSON header (1 problem):\n  - ${path.join(dir, 'bad.tsv')}:1: expected a JSON header line with format "eraserlab-ngram-stats"`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bad input: empty corpus, no Han characters, invalid UTF-8 with its offset, bad options', () => {
  const expectError = (fn: () => unknown, msg: string) => {
    try {
      fn();
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, runtime.EraserError);
      assert.is((e as Error).message, msg);
    }
  };
  expectError(() => boundary.statistics(''), 'The corpus is empty: there is no text to mine n-gram statistics from');
  expectError(() => boundary.statistics([]), 'The corpus is empty: there is no text to mine n-gram statistics from');
  expectError(() => boundary.statistics('hello world 123'), 'The corpus has no Han characters (15 characters read): boundary statistics are mined from runs of Chinese characters');
  const bytes = Buffer.concat([Buffer.from('中文\n好', 'utf8'), Buffer.from([0xff]), Buffer.from('的', 'utf8')]);
  expectError(
    () => boundary.statistics(bytes),
    'Invalid UTF-8 in <buffer>: byte 0xff at offset 10 (line 2) is not part of a valid UTF-8 sequence; re-encode the file as UTF-8 (1 problem):\n  - <buffer>@10: byte 0xff at offset 10, line 2',
  );
  // A truncated multi-byte sequence at the end, and GBK bytes in a file.
  assert.is(boundary.findInvalidUtf8(Buffer.from([0x41, 0xe4, 0xb8])), 1);
  assert.is(boundary.findInvalidUtf8(Buffer.from('中文', 'utf8')), -1);
  assert.is(boundary.findInvalidUtf8(Buffer.from([0xc0, 0x80])), 0, 'overlong');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'utf8-'));
  const f = path.join(dir, 'gbk.txt');
  fs.writeFileSync(f, Buffer.from([0x61, 0x0a, 0xd6, 0xd0, 0xce, 0xc4]));
  expectError(() => boundary.readTextFile(f), `Invalid UTF-8 in ${f}: byte 0xd6 at offset 2 (line 2) is not part of a valid UTF-8 sequence; re-encode the file as UTF-8 (1 problem):\n  - ${f}@2: byte 0xd6 at offset 2, line 2`);
  fs.rmSync(dir, { recursive: true, force: true });
  expectError(() => boundary.statistics('中文', { maxN: 0 }), 'Invalid n-gram statistics options (1 problem):\n  - maxN: must be an integer in 1..8, got 0');
});

test('vectors: layout by (length, position), zero for non-Han and unknown n-grams', () => {
  const s = boundary.statistics('中国人，中国', { maxN: 2, minCount: 1 });
  assert.is(boundary.boundaryDim(4), 30);
  assert.is(boundary.boundaryDim(2), 9);
  assert.equal(boundary.boundaryDimNames(2), ['n1p0.pmi', 'n1p0.le', 'n1p0.re', 'n2p0.pmi', 'n2p0.le', 'n2p0.re', 'n2p1.pmi', 'n2p1.le', 'n2p1.re']);
  const v = boundary.vectorRows('中国，人', s);
  assert.is(v.length, 4);
  const zg = s.get('中国')!;
  const g = s.get('国')!;
  // 国 (index 1): unigram slot = stats of 国; n2p0 = 国，? crosses a boundary → 0; n2p1 = 中国.
  assert.equal(v[1].slice(0, 3).map((x) => +x.toFixed(5)), [0, +g.le.toFixed(5), +g.re.toFixed(5)]);
  assert.equal(v[1].slice(3, 6), [0, 0, 0]);
  assert.equal(v[1].slice(6, 9).map((x) => +x.toFixed(5)), [zg.pmi, zg.le, zg.re].map((x) => +x.toFixed(5)));
  // 中 (index 0): n2p0 = 中国.
  assert.equal(v[0].slice(3, 6).map((x) => +x.toFixed(5)), [zg.pmi, zg.le, zg.re].map((x) => +x.toFixed(5)));
  assert.equal(v[2], new Array(9).fill(0), 'punctuation');
  const n = boundary.vectors('中国', s, { normalize: true });
  const [sp] = boundary.statScales(s);
  assert.ok(Math.abs(n[3] - zg.pmi / sp) < 1e-6);
});

test('corpus helpers: sentence split, roff stripping, fortunes', () => {
  assert.equal(boundary.splitSentences('你好。今天好！\n明天'), ['你好。', '今天好！', '明天']);
  assert.equal(boundary.splitSentences('一二三四五，六七八九十', 6), ['一二三四五，', '六七八九十']);
  assert.equal(boundary.stripRoff('.\\" comment\n.SH 描述\n\\fB\\-a\\fP 列出\\fI所有\\fR文件\n.PP\nno han here'), ['描述', '-a 列出所有文件']);
  assert.equal(boundary.parseFortunes('要有礼貌\n\n很难避免遇到\n的人。\n\x1b[33m-- Debian\x1b[m\n%\n第二条'), ['要有礼貌', '很难避免遇到的人。', '第二条']);
});

test.run();
