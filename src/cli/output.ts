/**
 * Human output (aligned tables, colours on a terminal) and script output (`--json`: exactly one
 * JSON document on stdout, nothing else). Guidance and warnings go to stderr in both modes.
 */
import { randomBytes } from 'node:crypto';
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

/**
 * Stored text (a responder's reason, an incident reference, a server's error message) must not
 * act on the reader's terminal: an ESC sequence could move the cursor, erase and rewrite the
 * lines above, or a bidi override reverse what is shown. Every human printer therefore goes
 * through `terminalSafe`, which shows such characters as escapes (ESC as the four characters
 * `\x1b`). Our own colours must survive that, so a style writes an unguessable stand-in for
 * ESC, turned into the real one only after everything else was escaped: text from elsewhere
 * cannot contain it.
 */
const escStandIn = `\u{F8FF}${randomBytes(8).toString('hex')}\u{F8FF}`;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlOrLineBreak = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- idem, tab and newline kept
const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeChar = (char: string) => {
  const code = char.codePointAt(0) ?? 0;
  return named[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
};

/** One value on one line, inert: every control character, tab and newline included, shown as an escape. */
export const inert = (text: string): string => text.replace(controlOrLineBreak, escapeChar);

/** A whole human text for the terminal: control characters escaped (lines and tabs kept), then our colours put in. */
export const terminalSafe = (text: string): string => text.replace(control, escapeChar).replaceAll(escStandIn, '\u001b');

const ansi = (open: number, close: number) => (text: string) => `${escStandIn}[${open}m${text}${escStandIn}[${close}m`;
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

const ansiPattern = new RegExp(`${escStandIn}\\[[0-9;]*m`, 'gu');
const visibleLength = (text: string) => text.replace(ansiPattern, '').length;

/** Columns aligned on the widest cell; the last column is not padded. Cells are shown inert, one line each. */
export function formatTable(headers: readonly string[], cells: readonly (readonly string[])[], style: Style): string {
  const rows = cells.map((row) => row.map(inert));
  const widths = headers.map((header, i) => Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [style.bold(line(headers)), ...rows.map(line)].join('\n');
}

/** `key  value` lines, keys aligned; absent values are left out. Values are shown inert, on one line each. */
export function formatFields(fields: readonly (readonly [string, string | undefined])[], style: Style): string {
  const present = fields.flatMap(([key, value]) => (value === undefined ? [] : [[key, inert(value)] as const]));
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
      deps.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : `${terminalSafe(human())}\n`);
    },
    print(text) {
      if (!json) deps.stdout(`${terminalSafe(text)}\n`);
    },
    note(text) {
      deps.stderr(`${terminalSafe(text)}\n`);
    },
  };
}
