/**
 * The `eraserlab` command. Each sub-command is one file in `sdk/cli/commands/` exporting
 * `command: CliCommand`; they are discovered here, so adding one touches no other file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EraserError } from '../runtime/errors';
import { closest, type CommandSpec } from './options';

export interface CliCommand {
  name: string;
  summary: string;
  /** `--help`: written from `spec` where the command has one. */
  usage: string;
  /** The command's declarative option table (sdk/cli/options.ts). */
  spec?: CommandSpec;
  run(argv: string[]): Promise<number | void>;
}

export function loadCommands(): Map<string, CliCommand> {
  const dir = path.join(__dirname, 'commands');
  const out = new Map<string, CliCommand>();
  for (const f of fs.readdirSync(dir).sort()) {
    if (!/\.(ts|js)$/.test(f) || f.endsWith('.d.ts') || f.startsWith('index.')) continue;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(path.join(dir, f)) as { command?: CliCommand };
    if (mod.command) out.set(mod.command.name, mod.command);
  }
  return out;
}

function help(cmds: Map<string, CliCommand>): string {
  const lines = ['Usage: eraserlab <command> [options]', '', 'Commands:'];
  for (const c of cmds.values()) lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  lines.push('', 'Run `eraserlab <command> --help` for its options. With no command, `eraserlab run` runs the main job.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const cmds = loadCommands();
  let [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help(cmds) + '\n');
    return 0;
  }
  if (!name || name.startsWith('-')) {
    rest = name ? argv : [];
    name = 'run';
  }
  const cmd = cmds.get(name);
  if (!cmd) {
    const near = closest(name, [...cmds.keys()]);
    process.stderr.write(`Unknown command '${name}'${near ? `; did you mean '${near}'?` : '.'} Must be one of [${[...cmds.keys()].join(', ')}]\n\n${help(cmds)}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    const rc = await cmd.run(rest);
    return typeof rc === 'number' ? rc : 0;
  } catch (e) {
    const err = e as Error;
    const sys = systemErrorLine(err);
    if (err instanceof EraserError) process.stderr.write(`${err.name}: ${err.message}\n`);
    else if (sys) process.stderr.write(`${sys}\n`);
    else process.stderr.write(`${err.stack ?? String(err)}\n`);
    return 1;
  }
}

/**
 * One line for the file-system errors a user can act on (disk full, no permission, read-only),
 * naming the folder being written; undefined for anything else (a bug: the stack is printed).
 */
export function systemErrorLine(err: Error): string | undefined {
  const e = err as NodeJS.ErrnoException & { folder?: string };
  if (!e || typeof e.code !== 'string') return undefined;
  const where = e.folder ?? (e.path ? path.dirname(path.resolve(e.path)) : undefined);
  const folder = where ? where.replace(/([/\\])\.([^/\\]*)\.tmp-[^/\\]*$/, '$1$2') : 'the output folder';
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `eraserlab: no space left on the device while writing to ${folder}. Free some space or write elsewhere (--out); files already complete were not replaced (eraserlab writes a temp file, then renames it).`;
    case 'EACCES':
    case 'EPERM':
      return `eraserlab: permission denied writing to ${e.path ?? folder}. Choose a folder you can write (--out).`;
    case 'EROFS':
      return `eraserlab: ${folder} is on a read-only file system. Choose another folder (--out).`;
    default:
      return undefined;
  }
}
