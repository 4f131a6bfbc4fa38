/**
 * The declarative option table: typed values, one set of messages for every command, "did you
 * mean", and --help written from the table (every option of every command documented).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from '../../sdk';
import { loadCommands, main } from '../../sdk/cli/main';
import { closest, helpText, parseOptions, type CommandSpec } from '../../sdk/cli/options';

const spec: CommandSpec = {
  name: 'demo',
  description: 'A demo command.',
  options: [
    { name: 'methods', type: 'list', choices: ['ga', 'po'], doc: 'Methods.' },
    { name: 'steps', type: 'int', min: 1, doc: 'Steps.', default: 72 },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, doc: 'Learning rate.' },
    { name: 'split', type: 'enum', choices: ['train', 'val', 'both'], doc: 'Split.', default: 'both' },
    { name: 'out', type: 'path', doc: 'Folder.', required: true },
    { name: 'no-figures', type: 'flag', doc: 'No figures.' },
  ],
};

function problems(argv: string[]): string {
  try {
    parseOptions(spec, argv);
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

test('values are typed: numbers, lists, flags, --key=value', () => {
  const a = parseOptions(spec, ['--methods', 'ga,po', '--steps=3', '--lr', '1e-4', '--no-figures', '--out', 'r', '--split', 'val']);
  assert.equal(a, { _: [], methods: ['ga', 'po'], steps: 3, lr: 1e-4, 'no-figures': true, out: 'r', split: 'val' });
});

test('every problem at once, with the same messages for every command', () => {
  assert.is(
    problems(['--methds', 'ga', '--steps', '0', '--lr', '0', '--split', 'tarin', '--no-figures=yes', '--steps', 'x', 'extra', '--methods', 'ga,kl']),
    [
      'Invalid arguments for eraserlab demo (9 problems):',
      '  - --methds: unknown option; did you mean --methods?',
      "  - --steps: must be an integer ≥ 1, got '0'",
      "  - --lr: must be a number > 0, got '0'",
      "  - --split: must be one of [train, val, both], got 'tarin'; did you mean 'train'?",
      '  - --no-figures: takes no value',
      "  - --steps: must be an integer ≥ 1, got 'x'",
      '  - extra: unexpected argument (options start with --)',
      "  - --methods: unknown value 'kl'. Must be one of [ga, po]",
      '  - --out: required: Folder.',
    ].join('\n'),
  );
  assert.match(problems(['--out']), '  - --out: needs a value (DIR)');
  assert.match(problems(['--zzzzzz', '--out', 'r']), '  - --zzzzzz: unknown option. Must be one of [--methods, --steps, --lr, --split, --out, --no-figures]');
});

test('an unknown command: did you mean, exit 2', async () => {
  let err = '';
  const e = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((x: string) => ((err += x), true)) as typeof process.stderr.write;
  let rc: number;
  try {
    rc = await main(['unlern']);
  } finally {
    process.stderr.write = e;
  }
  assert.is(rc, 2);
  assert.match(err, "Unknown command 'unlern'; did you mean 'unlearn'? Must be one of [attack, babert, evaluate, export-official, generate, pretrain, run, unlearn]");
});

test('did you mean: prefixes and small edits', () => {
  assert.is(closest('--method', ['--methods', '--model']), '--methods');
  assert.is(closest('--eval-evry', ['--eval-every', '--seed']), '--eval-every');
  assert.is(closest('--banana', ['--seed', '--out']), undefined);
});

test('--help is written from the table', () => {
  const h = helpText(spec);
  assert.match(h, 'Usage: eraserlab demo [options]\n\nA demo command.\n\nOptions:\n');
  assert.match(h, '  --steps N');
  assert.match(h, 'Steps. (default: 72)');
  assert.match(h, 'Split. One of: train, val, both. (default: both)');
  assert.match(h, 'Folder. (required)');
  assert.match(h, '  --no-figures');
});

test('every command parses with the table, and its --help lists every one of its options', () => {
  const cmds = loadCommands();
  assert.ok(cmds.size >= 7);
  for (const c of cmds.values()) {
    assert.ok(c.spec, `${c.name} has an option table`);
    assert.is(c.spec!.name, c.name);
    for (const o of c.spec!.options) assert.match(c.usage, `--${o.name}`, `${c.name} --help documents --${o.name}`);
    assert.match(c.usage, `Usage: eraserlab ${c.name}`);
    const msg = (() => {
      try {
        parseOptions(c.spec!, ['--no-such-option']);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    assert.match(msg, `Invalid arguments for eraserlab ${c.name}`);
  }
});

test.run();
