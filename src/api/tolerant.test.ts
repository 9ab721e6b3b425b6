import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { grantViewSchema, kitDocumentSchema, revealResponseSchema } from './index.js';
import { tolerant } from './tolerant.js';

const grant = {
  id: 'gr_12345678',
  account: 'pg-breakglass',
  state: 'active',
  mode: 'prestaged',
  condition: 'p1',
  reason: 'outage',
  incident: 'INC-1',
  requester: 'alice',
  createdAt: '2025-06-01T10:00:00.000Z',
  expiresAt: '2025-06-01T11:00:00.000Z',
  certification: { by: 'carol', at: '2025-06-01T12:00:00.000Z', necessary: true, scoped: true, removed: true, note: '' },
};

describe('tolerant: how a client reads an answer from a newer server', () => {
  it('keeps fields it does not know, at every depth; the strict schema drops them', () => {
    const newer = { ...grant, approver: 'bob', certification: { ...grant.certification, ticket: 'CHG-9' } };
    expect(tolerant(grantViewSchema).parse(newer)).toEqual(newer);
    expect(grantViewSchema.parse(newer)).toEqual(grant);
  });

  it('still refuses a missing or mistyped field, and keeps enums, checks and unions', () => {
    expect(tolerant(grantViewSchema).safeParse({ ...grant, requester: undefined }).success).toBe(false);
    expect(tolerant(grantViewSchema).safeParse({ ...grant, state: 'unknown' }).success).toBe(false);
    const schema = tolerant(z.object({ names: z.array(z.object({ name: z.string().regex(/^[a-z]+$/) })).min(2) }));
    expect(schema.safeParse({ names: [{ name: 'a' }] }).success).toBe(false);
    expect(schema.safeParse({ names: [{ name: 'a' }, { name: '../x' }] }).success).toBe(false);
    expect(tolerant(revealResponseSchema).safeParse({ username: 'u' }).success).toBe(false);
  });

  it('an answer marked exact (a credential) keeps dropping what it does not know', () => {
    expect(tolerant(revealResponseSchema)).toBe(revealResponseSchema);
    expect(tolerant(revealResponseSchema).parse({ username: 'u', certificate: 'c', privateKey: 'k', ttl: '60' })).toEqual({ username: 'u', certificate: 'c', privateKey: 'k' });
  });

  it('keeps defaults, nullables and optionals, and derives each schema once', () => {
    const schema = z.object({ note: z.string().default(''), count: z.number().nullable(), extra: z.object({ a: z.string() }).optional() });
    expect(tolerant(schema).parse({ count: null, extra: { a: 'x', b: 1 } })).toEqual({ note: '', count: null, extra: { a: 'x', b: 1 } });
    expect(tolerant(kitDocumentSchema)).toBe(tolerant(kitDocumentSchema));
  });
});
