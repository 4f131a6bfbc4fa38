/**
 * The kernel's input history (what `history_request` answers): the cells this kernel ran with
 * `store_history`, numbered by execution count, with their text/plain result when they had one.
 * One session per kernel process (session 1; session 0 in a request means the current one).
 */

export interface HistoryEntry {
  line: number;
  input: string;
  output?: string;
}

export interface HistoryRequest {
  output?: boolean;
  raw?: boolean;
  hist_access_type: 'range' | 'tail' | 'search';
  session?: number;
  start?: number;
  stop?: number;
  n?: number | null;
  pattern?: string;
  unique?: boolean;
}

/** [session, line, input] or, with output, [session, line, [input, output]]. */
export type HistoryItem = [number, number, string | [string, string | null]];

export const SESSION = 1;

/** A glob (`*`, `?`, `[abc]`, as IPython's history search) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += body.startsWith('!') ? `[^${body.slice(1)}]` : `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class History {
  private readonly entries: HistoryEntry[] = [];

  add(line: number, input: string): void {
    this.entries.push({ line, input });
  }

  setOutput(line: number, output: string): void {
    const e = this.entries.find((x) => x.line === line);
    if (e) e.output = output;
  }

  get size(): number {
    return this.entries.length;
  }

  query(req: HistoryRequest): HistoryItem[] {
    let picked: HistoryEntry[];
    const n = typeof req.n === 'number' && req.n >= 0 ? req.n : undefined;
    switch (req.hist_access_type) {
      case 'tail':
        picked = n === undefined ? this.entries.slice() : n === 0 ? [] : this.entries.slice(-n);
        break;
      case 'range': {
        const session = req.session ?? 0;
        if (session !== 0 && session !== SESSION && session !== -0) {
          picked = [];
          break;
        }
        const start = req.start ?? 1;
        const stop = req.stop ?? Infinity;
        picked = this.entries.filter((e) => e.line >= start && e.line < stop);
        break;
      }
      case 'search': {
        const re = globToRegExp(req.pattern ?? '*');
        picked = this.entries.filter((e) => re.test(e.input));
        if (req.unique) {
          const seen = new Set<string>();
          picked = picked
            .reverse()
            .filter((e) => (seen.has(e.input) ? false : (seen.add(e.input), true)))
            .reverse();
        }
        if (n !== undefined) picked = n === 0 ? [] : picked.slice(-n);
        break;
      }
      default:
        throw new Error(`history: hist_access_type '${String(req.hist_access_type)}' is not one of range, tail, search`);
    }
    return picked.map((e) => [SESSION, e.line, req.output ? [e.input, e.output ?? null] : e.input]);
  }
}
