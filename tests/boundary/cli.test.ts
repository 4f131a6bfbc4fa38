import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { command } from '../../sdk/cli/commands/babert';
import { ConfigError } from '../../sdk/runtime/errors';

test('eraserlab babert: bad arguments are one ConfigError listing each problem', async () => {
  try {
    await command.run(['--scale', 'huge', '--seeds', '1,x', '--pretrain-steps', '-3', '--bogus', '1']);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is(
      (e as Error).message,
      [
        'Invalid arguments for eraserlab babert (4 problems):',
        "  - --scale: must be one of [test, default], got 'huge'",
        "  - --seeds: must be comma-separated integers ≥ 0, got '1,x'",
        "  - --pretrain-steps: must be an integer ≥ 1, got '-3'",
        '  - --bogus: unknown option. Must be one of [--scale, --seeds, --out, --pretrain-steps, --finetune-steps, --ba-layer, --ba-weight, --json]',
      ].join('\n'),
    );
  }
  assert.is(command.name, 'babert');
  assert.match(command.usage, 'Usage: eraserlab babert');
});

test.run();
