import { describe, expect, it } from 'vitest';
import { auditActions, grantEventActions, isAuditAction, legacyAuditActions } from './audit-actions.js';

describe('closed audit names', () => {
  it('are unique, dotted, and in the past tense', () => {
    expect(new Set(auditActions).size).toBe(auditActions.length);
    for (const name of auditActions) expect(name, name).toMatch(/^[a-z-]+\.[a-z-]*(ed|held)$/);
  });
  it('every lifecycle event has its name in the list', () => {
    for (const [event, name] of Object.entries(grantEventActions)) expect(isAuditAction(name), event).toBe(true);
  });
  it('names written by 0.1 map to current ones (old chains still read the same)', () => {
    for (const [old, name] of Object.entries(legacyAuditActions)) {
      expect(isAuditAction(old), old).toBe(false);
      expect(isAuditAction(name), old).toBe(true);
    }
  });
});
