/**
 * Active Directory's own encodings, checked before anything reaches the domain controller:
 * `userAccountControl` flags, `accountExpires` FILETIMEs, `unicodePwd` values, sAMAccountNames,
 * the RID of an objectSid, and the sub-code a DC puts in a refused bind ("data 52e").
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import { formatDn, parseDn, type ParsedDn } from '../ldap/ldap-dn.js';
import { SAM_ACCOUNT_NAME } from './ad-spec.js';

/** userAccountControl bits ([MS-ADTS] 2.2.16). */
export const UAC = {
  ACCOUNTDISABLE: 0x2,
  PASSWD_NOTREQD: 0x20,
  NORMAL_ACCOUNT: 0x200,
  DONT_EXPIRE_PASSWORD: 0x10000,
} as const;

/** 100 ns intervals between 1601-01-01 and 1970-01-01. */
const EPOCH_DIFF = 116_444_736_000_000_000n;
/** accountExpires values that mean "never" ([MS-ADA1] Account-Expires). */
const NEVER = new Set(['0', '9223372036854775807']);

/** A date as AD's FILETIME (100 ns since 1601, UTC), the text accountExpires holds. */
export function fileTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new AppError('validation', 'ad: not a valid date', { path: 'validUntil' });
  return (BigInt(Math.trunc(ms)) * 10_000n + EPOCH_DIFF).toString();
}

/** accountExpires as a date; undefined for "never" (0 or the largest 64-bit value) or a missing value. */
export function parseFileTime(text: string | undefined): Date | undefined {
  if (text === undefined || NEVER.has(text) || !/^\d{1,19}$/.test(text)) return undefined;
  return new Date(Number((BigInt(text) - EPOCH_DIFF) / 10_000n));
}

/** The moment a disabled account is set to expire at: long past, and never "never". */
export const EXPIRED = fileTime(new Date(0));

/** `unicodePwd` wants the password in double quotes, UTF-16LE ([MS-ADTS] 3.1.1.3.1.5.2). */
export function unicodePwd(secret: string): Buffer {
  if (typeof secret !== 'string' || secret === '' || secret.includes('\0')) {
    throw new AppError('validation', 'ad secret must be a non-empty string without NUL', { path: 'secret' });
  }
  return Buffer.from(`"${secret}"`, 'utf16le');
}

/** The relative id, the last sub-authority of a binary objectSid; undefined when it is not one. */
export function ridOf(sid: Buffer | undefined): number | undefined {
  // revision(1) count(1) authority(6) then count × 4-byte little-endian sub-authorities.
  if (sid === undefined || sid.length < 12 || sid[0] !== 1) return undefined;
  const count = sid[1]!;
  if (count === 0 || sid.length !== 8 + 4 * count) return undefined;
  return sid.readUInt32LE(8 + 4 * (count - 1));
}

/** RIDs below this are the domain's built-in accounts and groups (Administrator 500, krbtgt 502, …). */
export const FIRST_USER_RID = 1000;

/**
 * The sAMAccountName a pre-staged account is created with: the one the account declares, else
 * the CN when it is a valid one, else `bg` and 18 hex digits of the DN's hash (stable per DN).
 */
export function samAccountNameFor(dn: ParsedDn, declared: string | undefined): string {
  if (declared !== undefined) {
    if (!SAM_ACCOUNT_NAME.test(declared)) throw new AppError('validation', 'ad samAccountName must be 1–20 of A–Z a–z 0–9 . _ - and space', { path: 'spec.samAccountName' });
    return declared;
  }
  const cn = dn.rdns[0]?.value ?? '';
  if (SAM_ACCOUNT_NAME.test(cn)) return cn;
  return `bg${createHash('sha256').update(dn.text.toLowerCase()).digest('hex').slice(0, 18)}`;
}

/** The sAMAccountName (and CN) of a grant's ephemeral user: `bg` + 18 hex digits, stable per grant. */
export function ephemeralName(grantId: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(grantId)) throw new AppError('validation', 'ad: the grant id is not a safe name', { path: 'grantId' });
  return `bg${createHash('sha256').update(grantId).digest('hex').slice(0, 18)}`;
}

/** The DNS domain of a DN's DC= components (`DC=corp,DC=example` → `corp.example`), for a userPrincipalName. */
export function dnsDomainOf(dn: ParsedDn): string | undefined {
  const parts = dn.rdns.filter((rdn) => rdn.type === 'dc').map((rdn) => rdn.value.toLowerCase());
  return parts.length === 0 ? undefined : parts.join('.');
}

/**
 * What the DC's "data XXX" sub-code of a refused bind (result 49) says about the password.
 * Windows and Samba check the password first and the account's restrictions after it, so a
 * refusal for being disabled (533), expired (701), past its password age (532) or bound to
 * change it (773) proves the password right. Locked out (775) is decided before the password.
 */
export type BindVerdict = 'right-password' | 'wrong-password' | 'undecided';

const RIGHT_PASSWORD = new Set(['530', '531', '532', '533', '701', '773']);
const WRONG_PASSWORD = new Set(['52e', '525']);

/** The sub-code of a result-49 message (`…, data 52e, v1db1`), lowercased; undefined when absent. */
export function bindSubCode(message: string): string | undefined {
  return /\bdata ([0-9a-f]{1,8})\b/i.exec(message)?.[1]?.toLowerCase();
}

export function bindVerdict(subCode: string | undefined): BindVerdict {
  if (subCode !== undefined && RIGHT_PASSWORD.has(subCode)) return 'right-password';
  if (subCode !== undefined && WRONG_PASSWORD.has(subCode)) return 'wrong-password';
  return 'undecided';
}

/**
 * A DN parsed strictly (../ldap/ldap-dn.ts) and written out as Active Directory writes it,
 * attribute types in capitals (`CN=Domain Admins,CN=Users,DC=corp`): what messages show and
 * what is sent. Comparison uses the parsed RDNs, whatever the spelling.
 */
export function parseAdDn(input: unknown, path: string): ParsedDn {
  const { rdns } = parseDn(input, path);
  return { rdns, text: formatDn(rdns.map((rdn) => ({ type: rdn.type.toUpperCase(), value: rdn.value }))) };
}
