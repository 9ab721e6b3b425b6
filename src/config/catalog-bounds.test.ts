/** Issue 11 (H2): the policy's bounds in the catalog file, validated with path-named errors. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { parseCatalogYaml } from './catalog-file.js';

const example = `targets:
  - { name: db, type: postgres, host: 127.0.0.1, port: 55432, database: postgres, user: admin }
policies:
  - name: p1
    conditions: [outage]
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
    maxExtensions: 2
    maxTotal: 2h
    cooldown: 1m
    requireCertifiedPrevious: true
accounts:
  - { name: db-bg, target: db, mode: prestaged, role: bg_admin, policy: p1 }
users:
  - { name: pager, roles: [incident-system] }
`;

const lines = (text: string): string[] => {
  try {
    parseCatalogYaml(text);
  } catch (error) {
    if (error instanceof AppError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the catalog to be rejected');
};

describe('policy bounds in the catalog (issue 11)', () => {
  it('accepts maxExtensions, maxTotal, cooldown, requireCertifiedPrevious and the incident-system role', () => {
    const parsed = parseCatalogYaml(example);
    expect(parsed.policies[0]).toMatchObject({ maxExtensions: 2, maxTotal: '2h', cooldown: '1m', requireCertifiedPrevious: true });
    expect(parsed.users?.[0]?.roles).toEqual(['incident-system']);
  });
  it('rejects bad values with path-named errors', () => {
    expect(lines(example.replace('maxExtensions: 2', 'maxExtensions: -1'))[0]).toMatch(/^policies\[0\]\.maxExtensions: /);
    expect(lines(example.replace('maxExtensions: 2', 'maxExtensions: 1.5'))[0]).toMatch(/^policies\[0\]\.maxExtensions: /);
    expect(lines(example.replace('maxTotal: 2h', 'maxTotal: soon'))[0]).toMatch(/^policies\[0\]\.maxTotal: /);
    expect(lines(example.replace('cooldown: 1m', 'cooldown: 5 minutes'))[0]).toMatch(/^policies\[0\]\.cooldown: /);
    expect(lines(example.replace('requireCertifiedPrevious: true', 'requireCertifiedPrevious: yes please'))[0]).toMatch(/^policies\[0\]\.requireCertifiedPrevious: /);
  });
  it('rejects maxTotal shorter than maxTtl', () => {
    expect(lines(example.replace('maxTotal: 2h', 'maxTotal: 30m'))).toEqual(['policies[0].maxTotal: maxTotal 30m is shorter than maxTtl 1h']);
  });
});
