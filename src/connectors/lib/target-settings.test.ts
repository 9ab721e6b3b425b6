import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { createLdapConnector } from '../ldap/ldap-connector.js';
import { parseSettings, parseTimeout, requireAdminSecret } from './target-settings.js';

const failure = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
};

describe('target settings shared by every connector', () => {
  const strict = z.strictObject({ host: z.string().min(1), port: z.number() });

  it('names the type and the first bad field, never the value', () => {
    const error = failure(() => parseSettings('foo', strict, { host: 'secret-host', port: 'x' }));
    expect(error.code).toBe('validation');
    expect(error.path).toBe('settings.port');
    expect(error.message).toMatch(/^foo target settings are invalid: /);
    expect(error.message).not.toContain('secret-host');
  });

  it('regression: the timeout the catalog keeps among the settings does not trip a strict schema', () => {
    expect(parseSettings('foo', strict, { host: 'h', port: 1, timeoutMs: 2000 })).toEqual({ host: 'h', port: 1 });
    const settings = { url: 'ldap://127.0.0.1:389', bindDn: 'cn=admin,dc=example', timeoutMs: 2000 };
    expect(() => createLdapConnector({ type: 'ldap', settings, adminSecret: 'pw', timeoutMs: 2000 })).not.toThrow();
  });

  it('defaults the timeout to 5 s and refuses anything but a positive integer', () => {
    expect(parseTimeout('foo', undefined)).toBe(5000);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(failure(() => parseTimeout('foo', bad)).message).toBe('foo target timeoutMs must be a positive integer');
  });

  it('an empty admin secret is no admin secret', () => {
    expect(failure(() => requireAdminSecret('foo', '')).message).toBe('foo target has no admin secret');
    expect(requireAdminSecret('foo', 'pw')).toBe('pw');
  });
});
