import { describe, expect, it } from 'vitest';
import { bindSubCode, bindVerdict, dnsDomainOf, ephemeralName, fileTime, parseAdDn, parseFileTime, ridOf, samAccountNameFor, unicodePwd } from './ad-names.js';

describe('AD encodings', () => {
  it('accountExpires: FILETIME round trip, 0 and the largest value mean never', () => {
    const date = new Date('2026-11-29T16:00:00.123Z');
    expect(fileTime(new Date(0))).toBe('116444736000000000');
    expect(parseFileTime(fileTime(date))?.getTime()).toBe(date.getTime());
    expect(parseFileTime('0')).toBeUndefined();
    expect(parseFileTime('9223372036854775807')).toBeUndefined();
    expect(parseFileTime('not a number')).toBeUndefined();
    expect(() => fileTime(new Date(Number.NaN))).toThrow(/valid date/);
  });

  it('unicodePwd is the quoted password in UTF-16LE, and refuses empty or NUL', () => {
    expect(unicodePwd('Ab1-x')).toEqual(Buffer.from('"Ab1-x"', 'utf16le'));
    expect(() => unicodePwd('')).toThrow(/non-empty/);
    expect(() => unicodePwd('a\0b')).toThrow(/NUL/);
  });

  it('the RID is the last sub-authority of a binary SID; anything malformed is undefined', () => {
    // S-1-5-21-1159220164-1868788056-697300575-1102, as the DC sends it.
    const sid = Buffer.from('010500000000000515000000c44b184558716336' + '5ff68f294e040000', 'hex');
    expect(ridOf(sid)).toBe(1102);
    expect(ridOf(Buffer.from('0105000000000005150000', 'hex'))).toBeUndefined();
    expect(ridOf(undefined)).toBeUndefined();
  });

  it('a refused bind\'s sub-code tells whether the password was right', () => {
    const message = '80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1';
    expect(bindSubCode(message)).toBe('533');
    expect(bindVerdict('533')).toBe('right-password');
    expect(bindVerdict('701')).toBe('right-password');
    expect(bindVerdict('52e')).toBe('wrong-password');
    // Locked out is decided before the password: it proves nothing.
    expect(bindVerdict('775')).toBe('undecided');
    expect(bindVerdict(undefined)).toBe('undecided');
  });

  it('sAMAccountName: the declared one, else a valid CN, else a stable hash name of 20 characters', () => {
    const plain = parseAdDn('CN=bg-domain-admin,CN=Users,DC=corp', 'p');
    expect(samAccountNameFor(plain, undefined)).toBe('bg-domain-admin');
    expect(samAccountNameFor(plain, 'bgda')).toBe('bgda');
    expect(() => samAccountNameFor(plain, 'has@at')).toThrow(/samAccountName/);
    const hostile = parseAdDn('CN=o\'brien \\+ \\#1,CN=Users,DC=corp', 'p');
    const name = samAccountNameFor(hostile, undefined);
    expect(name).toMatch(/^bg[0-9a-f]{18}$/);
    expect(samAccountNameFor(parseAdDn('cn=O\'BRIEN \\+ \\#1,cn=users,dc=CORP', 'p'), undefined)).toBe(name);
    expect(ephemeralName('gr_abc')).toMatch(/^bg[0-9a-f]{18}$/);
    expect(() => ephemeralName('gr abc')).toThrow(/safe name/);
  });

  it('DNs are written as AD writes them, and the DNS domain comes from the DC= parts', () => {
    expect(parseAdDn('cn=Domain Admins,cn=Users,dc=corp,dc=example', 'g').text).toBe('CN=Domain Admins,CN=Users,DC=corp,DC=example');
    expect(dnsDomainOf(parseAdDn('CN=x,OU=Emergency,DC=Corp,DC=Example', 'p'))).toBe('corp.example');
  });
});
