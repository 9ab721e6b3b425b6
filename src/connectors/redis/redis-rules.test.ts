import { createHash } from 'node:crypto';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/index.js';
import { parseAclUser, sessionIds } from './redis-admin.js';
import { toAppError } from './redis-errors.js';
import { checkMutableUser, checkUser, hashedPasswordRule, matchesStoredHash } from './redis-names.js';
import { parseEphemeralSpec, parsePrestagedSpec, parseRules } from './redis-rules.js';
import { redisSpec } from './redis-spec.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).code;
  }
  return 'ok';
}

describe('redis rules', () => {
  it('splits on spaces and keeps selectors, key, channel and command rules', () => {
    expect(parseRules('  on ~cache:*   &* +@read -flushall (~k* +get) %R~r:*', 'ephemeral')).toEqual(
      ['on', '~cache:*', '&*', '+@read', '-flushall', '(~k*', '+get)', '%R~r:*'],
    );
    expect(parsePrestagedSpec(undefined, 'u').rules).toEqual(['~*', '&*', '+@all']);
    expect(parsePrestagedSpec({ user: 'u', rules: '+get ~k' }, 'u').rules).toEqual(['+get', '~k']);
    // The catalog passes the whole account spec, adopt included (StageOptions carries the decision).
    expect(parsePrestagedSpec({ user: 'u', adopt: true }, 'u').rules).toEqual(['~*', '&*', '+@all']);
  });

  it('injection: rules that touch passwords, reset, on/off or smuggle separators are refused', () => {
    const hostile = [
      '~* +@all nopass',
      '~* +@all NoPass',
      '~* +@all >second-password',
      '~* +@all <old-password',
      `~* +@all #${'a'.repeat(64)}`,
      `~* +@all !${'a'.repeat(64)}`,
      '~* +@all resetpass',
      'reset ~* +@all',
      '~* +@all off',
      '(>pw ~k*)',
      '(nopass)',
      '~*\n+@all',
      '~* +@all\r\nACL SETUSER default off',
      '~*\t+@all',
      '~*\0+@all',
      '~*\u00a0+@all',
      '~*\u200b+@all',
      '~* \u0085+@all',
      '\uD800',
      `${'~k '.repeat(300)}`,
      'x'.repeat(5000),
    ];
    for (const rules of hostile) {
      expect(code(() => parseRules(rules, 'ephemeral')), JSON.stringify(rules)).toBe('validation');
    }
    expect(code(() => parseRules('on ~* +@all', 'prestaged'))).toBe('validation');
    expect(code(() => parseRules('on ~* +@all', 'ephemeral'))).toBe('ok');
  });

  it('the refusal message never echoes a password token', () => {
    try {
      parseRules('~* >Hunter2-secret', 'ephemeral');
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('Hunter2');
    }
  });

  it('specs: exact keys, matching user, something granted', () => {
    expect(code(() => parsePrestagedSpec({ user: 'other' }, 'u'))).toBe('validation');
    expect(code(() => parsePrestagedSpec({ rule: '+get' }, 'u'))).toBe('validation');
    expect(code(() => parsePrestagedSpec({ rules: 5 }, 'u'))).toBe('validation');
    expect(code(() => parsePrestagedSpec({ adopt: 'yes' }, 'u'))).toBe('validation');
    expect(code(() => parseEphemeralSpec({}))).toBe('validation');
    expect(code(() => parseEphemeralSpec({ rules: 'on' }))).toBe('validation');
    expect(code(() => parseEphemeralSpec({ rules: '   ' }))).toBe('validation');
    expect(code(() => parseEphemeralSpec({ rules: '+get', extra: 1 }))).toBe('validation');
    expect(parseEphemeralSpec({ rules: 'on ~* &* +@all' }).rules).toEqual(['on', '~*', '&*', '+@all']);
  });
});

describe('redis names and hashes', () => {
  it('refuses names Redis cannot hold unambiguously, and reserved names for mutations', () => {
    for (const name of ['', 'a b', 'nul\0', 'tab\t', 'new\nline', 'ctl\u0001', 'del\u007f', 'nb\u00a0sp', 'zw\u200bj', '\uDC00', 'x'.repeat(129), 5]) {
      expect(code(() => checkUser(name)), JSON.stringify(name)).toBe('validation');
    }
    expect(code(() => checkMutableUser('default', 'admin'))).toBe('validation');
    expect(code(() => checkMutableUser('admin', 'admin'))).toBe('validation');
    expect(checkMutableUser('bg_oncall', 'admin')).toBe('bg_oncall');
    for (const name of ['a"b', "it's", 'semi;colon', 'back\\slash', '\u0430dmin', 'x'.repeat(128), 'nopass', '>pw']) {
      expect(checkUser(name)).toBe(name);
    }
  });

  it('hashes the way Redis does and compares every stored hash', () => {
    const hex = createHash('sha256').update('pw', 'utf8').digest('hex');
    expect(hashedPasswordRule('pw')).toBe(`#${hex}`);
    expect(matchesStoredHash('pw', ['0'.repeat(64), hex])).toBe(true);
    expect(matchesStoredHash('pw2', ['0'.repeat(64), hex])).toBe(false);
    expect(matchesStoredHash('pw', ['not-hex'])).toBe(false);
  });
});

describe('redis replies', () => {
  it('counts exact user fields in CLIENT LIST', () => {
    const list = [
      'id=3 addr=1 name=user=bob user=default resp=2',
      'id=4 addr=2 name= user=bob resp=2',
      'id=5 addr=3 name= user=bob2 resp=2',
      'id=6 addr=4 name= user=bob resp=3',
      '',
    ].join('\n');
    expect(sessionIds(list, 'bob')).toEqual(['4', '6']);
  });

  it('parses ACL GETUSER and nil', () => {
    expect(parseAclUser(null, 'op', 'u')).toBeUndefined();
    expect(parseAclUser(['flags', ['on'], 'passwords', ['ab'], 'commands', '+@all'], 'op', 'u')).toEqual({ flags: ['on'], passwords: ['ab'] });
    expect(code(() => parseAclUser('OK', 'op', 'u'))).toBe('target_error');
  });

  it('never keeps the driver error, which carries the command arguments', () => {
    const driverError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', command: { args: ['u', 'admin-secret'] } });
    const err = toAppError(driverError, 'stage', 'u', true);
    expect(err.code).toBe('target_unavailable');
    expect(JSON.stringify(err.cause)).not.toContain('admin-secret');
  });

  it('keeps the server text of a refused rule but masks password hashes, and all of AUTH', () => {
    const hash = 'ab'.repeat(32);
    const reply = new ReplyError(`ERR Error in ACL SETUSER modifier '#${hash}': Syntax error`) as Error;
    const setuser = toAppError(reply, 'stage', 'u', false);
    expect(setuser.message).toContain("modifier '#<hash>'");
    expect(setuser.message).not.toContain(hash);
    expect(setuser.cause).toEqual({ code: 'ERR' });
    expect(toAppError(reply, 'stage', 'u', true).message).not.toContain('modifier');
    const loading = toAppError(new ReplyError('LOADING Redis is loading the dataset in memory') as Error, 'inspect', 'u', false);
    expect([loading.code, loading.retryable]).toEqual(['target_unavailable', true]);
  });

  it('tls: a certificate that did not verify is not retryable and says what to change', () => {
    const tlsError = (code: string) => toAppError(Object.assign(new Error('tls'), { code }), 'inspect', 'u', true);
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']) {
      const err = tlsError(code);
      expect([err.code, err.retryable]).toEqual(['target_error', false]);
      expect(err.message).toMatch(/did not verify.*tls\.caFile.*tls\.verify: false/);
    }
    expect(tlsError('ERR_TLS_CERT_ALTNAME_INVALID').message).toMatch(/tls\.servername/);
    expect(tlsError('ECONNRESET').code).toBe('target_unavailable');
  });
});

describe('redis spec', () => {
  it('reserved: default and the admin user, wherever the catalog names them', () => {
    const reserved = redisSpec.reservedPrincipal!;
    expect(reserved('default', {})).toMatch(/built-in user/);
    expect(reserved('default', { user: 'ops' })).toMatch(/built-in user/);
    expect(reserved('ops', { user: 'ops' })).toMatch(/admin user/);
    expect(reserved('ops', {})).toBeUndefined();
  });
});
