/**
 * Human output (aligned tables, colours on a terminal) and script output (`--json`: exactly one
 * JSON document on stdout, nothing else). Guidance and warnings go to stderr in both modes.
 */
import type { CliDeps } from './cli-deps.js';

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  /** A grant state, coloured by what it asks of people. */
  state(state: string): string;
}

const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const identity = (text: string) => text;

const stateColour: Record<string, keyof Omit<Style, 'state'>> = {
  active: 'green',
  requested: 'yellow',
  revoking: 'yellow',
  rotating: 'yellow',
  'awaiting-certification': 'yellow',
  failed: 'red',
  denied: 'dim',
  cancelled: 'dim',
  closed: 'dim',
  revoked: 'dim',
};

export function createStyle(enabled: boolean): Style {
  const plain = { bold: identity, dim: identity, red: identity, green: identity, yellow: identity };
  const base = enabled
    ? { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39) }
    : plain;
  return { ...base, state: (state) => base[stateColour[state] ?? 'bold'](state) };
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function coloursEnabled(deps: Pick<CliDeps, 'env' | 'stdoutIsTTY'>): boolean {
  const tty = deps.stdoutIsTTY ?? process.stdout.isTTY === true;
  const noColor = deps.env['NO_COLOR'] !== undefined && deps.env['NO_COLOR'] !== '';
  return tty && !noColor && deps.env['TERM'] !== 'dumb';
}

// eslint-disable-next-line no-control-regex
const ansiPattern = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string) => text.replace(ansiPattern, '').length;

/** Columns aligned on the widest cell; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], style: Style): string {
  const widths = headers.map((header, i) => Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [style.bold(line(headers)), ...rows.map(line)].join('\n');
}

/** `key  value` lines, keys aligned; absent values are left out. */
export function formatFields(fields: readonly (readonly [string, string | undefined])[], style: Style): string {
  const present = fields.filter((field): field is readonly [string, string] => field[1] !== undefined);
  const width = Math.max(0, ...present.map(([key]) => key.length));
  return present.map(([key, value]) => `${style.dim(key.padEnd(width))}  ${value}`).join('\n');
}

export interface Output {
  readonly json: boolean;
  readonly style: Style;
  /** The result: `value` as JSON with `--json`, else the human text. */
  result(value: unknown, human: () => string): void;
  /** A line of human text on stdout (never with `--json`). */
  print(text: string): void;
  /** Guidance or a warning on stderr, in both modes. */
  note(text: string): void;
}

export function createOutput(deps: Pick<CliDeps, 'env' | 'stdout' | 'stderr' | 'stdoutIsTTY'>, json: boolean): Output {
  const style = createStyle(!json && coloursEnabled(deps));
  return {
    json,
    style,
    result(value, human) {
      deps.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
    print(text) {
      if (!json) deps.stdout(`${text}\n`);
    },
    note(text) {
      deps.stderr(`${text}\n`);
    },
  };
}
