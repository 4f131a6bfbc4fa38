import { UnknownComponentError } from './errors';

/**
 * A typed registry: unknown names fail listing the valid ones; re-registering
 * (a notebook cell re-run) replaces with a warning.
 */
export class Registry<T> {
  private readonly items = new Map<string, T>();
  private readonly aliases = new Map<string, string>();
  constructor(readonly kind: string, initial: Record<string, T> = {}) {
    for (const [k, v] of Object.entries(initial)) this.items.set(k, v);
  }

  register(name: string, item: T, opts: { quiet?: boolean } = {}): void {
    if (this.items.has(name) && !opts.quiet) {
      process.emitWarning(`${this.kind} '${name}' was already registered; replacing it`);
    }
    this.items.set(name, item);
  }

  alias(alias: string, target: string): void {
    this.aliases.set(alias, target);
  }

  has(name: string): boolean {
    return this.items.has(this.aliases.get(name) ?? name);
  }

  /** The canonical name for `name` (resolving aliases). */
  resolve(name: string): string {
    const n = this.aliases.get(name) ?? name;
    if (!this.items.has(n)) throw new UnknownComponentError(this.kind, name, this.names());
    return n;
  }

  get(name: string): T {
    return this.items.get(this.resolve(name)) as T;
  }

  names(): string[] {
    return [...this.items.keys()];
  }

  entries(): [string, T][] {
    return [...this.items.entries()];
  }
}
