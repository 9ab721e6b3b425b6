import { describe, expect, it } from 'vitest';
import { requireValidUntil } from './valid-until.js';

describe('requireValidUntil: the one check of an enable\'s validUntil', () => {
  it('passes a real date and refuses what is not one, naming the connector and the field', () => {
    expect(() => requireValidUntil('ldap', new Date(0))).not.toThrow();
    for (const bad of [new Date(Number.NaN), '2026-01-01', 1_700_000_000_000, undefined]) {
      expect(() => requireValidUntil('ldap', bad)).toThrow(expect.objectContaining({ code: 'validation', message: 'ldap enable needs a valid validUntil date', path: 'validUntil' }) as Error);
    }
  });
});
