/**
 * Distinguished names for the LDAP connector: a strict RFC 4514 parser and a serializer that
 * re-escapes every value with ldapts' own RDN escaping. A DN from the catalog is never passed to
 * the server as typed: it is parsed into (type, value) pairs, checked, and written out again, so
 * an escape the server would read differently than we do cannot slip through.
 */
import { DN } from 'ldapts';
import { TextDecoder } from 'node:util';
import { AppError } from '../../errors/index.js';

/** One attribute=value pair of a single-valued RDN, value unescaped. */
export interface Rdn {
  readonly type: string;
  readonly value: string;
}

/** A parsed DN, leaf first, and its canonical escaped form. */
export interface ParsedDn {
  readonly rdns: readonly Rdn[];
  readonly text: string;
}

/** Longer DNs are refused: no directory needs them, and they are a cheap abuse vector. */
export const MAX_DN_BYTES = 1024;

/** Attribute type names only: an OID alias (2.5.4.3 for cn) would defeat the base/bindDn checks. */
const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
/** RFC 4514 characters that may follow a backslash as themselves. */
const ESCAPABLE = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
/** Characters RFC 4514 forbids unescaped inside a value (`,` and `+` end it). */
const MUST_ESCAPE = new Set(['"', ';', '<', '>']);
const HEX2 = /^[0-9A-Fa-f]{2}$/;
/** Control, format (bidi overrides, zero-width) and lone-surrogate code points. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(path: string, why: string): AppError {
  return new AppError('validation', `ldap DN ${why}`, { path });
}

/** Reads one value starting at `i`; returns the value and the index of its terminator. */
function readValue(input: string, start: number, path: string): { value: string; end: number } {
  const bytes: number[] = [];
  let i = start;
  if (input[i] === '#') throw bad(path, 'has a #hex (BER) value; write the value as text');
  for (; i < input.length; i++) {
    const ch = input[i] as string;
    if (ch === ',') break;
    if (ch === '+') throw bad(path, 'has a multi-valued RDN (+), which is not supported');
    if (MUST_ESCAPE.has(ch)) throw bad(path, `has an unescaped ${JSON.stringify(ch)}`);
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = input[i + 1];
    if (next !== undefined && ESCAPABLE.has(next)) {
      bytes.push(next.charCodeAt(0));
      i += 1;
    } else if (HEX2.test(input.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(input.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      throw bad(path, 'has a backslash that escapes nothing');
    }
  }
  let value: string;
  try {
    value = utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw bad(path, 'has an escaped value that is not UTF-8');
  }
  return { value, end: i };
}

/** Values the server would hold ambiguously or that hide what they are. */
function checkValue(value: string, path: string): void {
  if (value === '') throw bad(path, 'has an empty attribute value');
  if (value.includes('\0')) throw bad(path, 'contains a NUL character');
  if (INVISIBLE.test(value)) throw bad(path, 'contains a control or invisible character');
  // RFC 4518 insignificant-space handling makes "a  b", " a" and "a" the same entry on the
  // server: a second name for one account.
  if (value !== value.trim() || /\s{2}/u.test(value)) throw bad(path, 'has leading, trailing or repeated spaces');
  // Matching folds compatibility forms too: on slapd, cn=ａｄｍｉｎ IS cn=admin (and e + U+0301 is é).
  if (value.normalize('NFKC') !== value) throw bad(path, 'has full-width, ligature or other compatibility characters');
}

/**
 * Parses and validates a DN. Throws AppError('validation') for anything the server could read
 * differently, and for the empty DN (the root DSE is nobody's account).
 *
 * @example
 *   parseDn('cn=O\\2C Brien,ou=people,dc=example,dc=test', 'principal').rdns[0]
 *   // → { type: 'cn', value: 'O, Brien' }
 */
export function parseDn(input: unknown, path: string): ParsedDn {
  if (typeof input !== 'string' || input === '') throw bad(path, 'is empty');
  if (input.includes('\0')) throw bad(path, 'contains a NUL character');
  if (INVISIBLE.test(input)) throw bad(path, 'contains a control or invisible character');
  if (Buffer.byteLength(input, 'utf8') > MAX_DN_BYTES) throw bad(path, `is longer than ${MAX_DN_BYTES} bytes`);
  const rdns: Rdn[] = [];
  let i = 0;
  for (;;) {
    const eq = input.indexOf('=', i);
    if (eq < 0) throw bad(path, 'has an RDN without "="');
    const type = input.slice(i, eq);
    if (!DESCR.test(type)) throw bad(path, `has an invalid attribute type ${JSON.stringify(type)}`);
    const { value, end } = readValue(input, eq + 1, path);
    checkValue(value, path);
    // Types are case-insensitive names; one spelling keeps the canonical text comparable.
    rdns.push({ type: type.toLowerCase(), value });
    if (end >= input.length) break;
    i = end + 1;
    if (i >= input.length) throw bad(path, 'ends with ","');
  }
  return { rdns, text: formatDn(rdns) };
}

/** Writes RDNs out with ldapts' escaping (`\` before `"\#+,;<=>`; values never need quoting here). */
export function formatDn(rdns: readonly Rdn[]): string {
  const dn = new DN();
  for (const rdn of rdns) dn.addPairRDN(rdn.type, rdn.value);
  return dn.toString();
}

/** Types are lowercased by parseDn; values compare under `fold`. */
function sameRdns(a: ParsedDn, b: ParsedDn, offset: number, fold: (value: string) => string): boolean {
  return b.rdns.every((rdn, k) => {
    const other = a.rdns[offset + k];
    return other !== undefined && other.type === rdn.type && fold(other.value) === fold(rdn.value);
  });
}

/**
 * Values are NFKC-stable (checkValue), so what the server's matching still folds is case. Plain
 * lowercasing is never more generous than the server: equal here means equal there.
 */
const caseFold = (value: string) => value.toLowerCase();
/** At least as generous as the server's case folding (ß and SS fold together here). */
const wideFold = (value: string) => value.toUpperCase().toLowerCase();

/** Do `a` and `b` certainly name the same entry? */
export function sameDn(a: ParsedDn, b: ParsedDn): boolean {
  return a.rdns.length === b.rdns.length && sameRdns(a, b, 0, caseFold);
}

/** Could the server take `a` and `b` for the same entry? Used to keep hands off the bind DN. */
export function mayAlias(a: ParsedDn, b: ParsedDn): boolean {
  return a.rdns.length === b.rdns.length && sameRdns(a, b, 0, wideFold);
}

/** Is `dn` strictly below `base`? Conservative: a doubtful match is "not under". */
export function isStrictlyUnder(dn: ParsedDn, base: ParsedDn): boolean {
  const offset = dn.rdns.length - base.rdns.length;
  return offset > 0 && sameRdns(dn, base, offset, caseFold);
}
