import { describe, expect, it } from 'vitest';
import { lazyRepositories } from './lazy-repositories.js';

describe('lazyRepositories', () => {
  it('builds a repository on its first read only, once, and never the ones not read', () => {
    const built: string[] = [];
    const tx = lazyRepositories<{ users: { n: number }; grants: { n: number } }>({
      users: () => (built.push('users'), { n: 1 }),
      grants: () => (built.push('grants'), { n: 2 }),
    });
    expect(built).toStrictEqual([]);
    expect(tx.users.n).toBe(1);
    expect(tx.users).toBe(tx.users);
    expect(built).toStrictEqual(['users']);
    expect(Object.keys(tx)).toStrictEqual(['users', 'grants']);
  });
});
