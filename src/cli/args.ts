/**
 * Command-line flags: one table per command gives each flag's type, default, help line and check, so the
 * parser (node:util parseArgs), the validation and `--help` can never disagree.
 */
import { parseArgs } from 'node:util';

/** A bad command line: the CLI prints the message on one line and exits with code 2. */
export class UsageError extends Error {}

export interface FlagSpec {
  /** 'string' flags carry a value (`--lr 0.1` or `--lr=0.1`); 'boolean' flags do not. */
  type: 'string' | 'boolean';
  /** The value's name in the help (`--lr NUM`). */
  arg?: string;
  /** Help text; the default is appended. */
  help: string;
  /** The default shown in the help (the value itself is applied by the command). */
  defaultText?: string;
  short?: string;
}

export type FlagTable = Record<string, FlagSpec>;

/** Parse argv against a flag table; unknown flags, missing values and stray arguments are UsageErrors. */
export function parseFlags(command: string, argv: readonly string[], flags: FlagTable): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, f] of Object.entries(flags)) options[name] = f.short ? { type: f.type, short: f.short } : { type: f.type };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (e) {
    const full = (e as Error).message;
    let msg = full.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '').replace(/\.$/, '');
    const dash = /use '(--[\w-]+=-XYZ)'/.exec(full);
    if (dash) msg += ` (a value starting with a dash is written ${dash[1]})`;
    throw new UsageError(`${command}: ${msg}`);
  }
  return parsed.values as Record<string, string | boolean | undefined>;
}

// ------------------------------------------------------------------ value checks (each throws a UsageError)

export function intFlag(command: string, name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`${command}: --${name} must be ${range}, got '${raw}'`);
  }
  return v;
}

export function numberFlag(command: string, name: string, raw: string, opts: { min?: number; positive?: boolean; max?: number } = {}): number {
  const v = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(v) && (opts.positive ? v > 0 : true) && (opts.min === undefined || v >= opts.min) && (opts.max === undefined || v <= opts.max);
  if (!ok) {
    const what = opts.positive ? 'a positive number' : opts.min !== undefined && opts.max !== undefined ? `a number from ${opts.min} to ${opts.max}` : opts.min !== undefined ? `a number ≥ ${opts.min}` : 'a number';
    throw new UsageError(`${command}: --${name} must be ${what}, got '${raw}'`);
  }
  return v;
}

export function choiceFlag<T extends string>(command: string, name: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`${command}: --${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** A comma-separated list of positive integers (`256,128`); an empty string is the empty list. */
export function intListFlag(command: string, name: string, raw: string): number[] {
  if (raw.trim() === '') return [];
  return raw.split(',').map((s) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isInteger(v) || v < 1) throw new UsageError(`${command}: --${name} must be a comma-separated list of positive integers (e.g. 256,128), got '${raw}'`);
    return v;
  });
}

/** The help text of a command: usage line, description, one aligned line per flag. */
export function formatHelp(usage: string, description: string, flags: FlagTable, footer = ''): string {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.arg ? ` ${f.arg}` : ''}`;
    return [left, `${f.help}${f.defaultText !== undefined ? ` (default: ${f.defaultText})` : ''}`] as const;
  });
  const w = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = rows.map(([l, r]) => `  ${l.padEnd(w)}${r}`);
  return [`Usage: ${usage}`, '', description, '', 'Options:', ...lines, ...(footer ? ['', footer] : [])].join('\n');
}
