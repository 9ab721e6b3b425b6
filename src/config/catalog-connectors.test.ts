import { describe, expect, it } from 'vitest';
import { accountPrincipal, accountSpec, parseCatalogYaml, resolvePasswords } from './catalog-file.js';

/** The connector catalog of the contract (issue 4), with the policy and users it refers to. */
const contract = `
targets:
  - { name: maria, type: mysql, host: 127.0.0.1, port: 3306, user: root, passwordEnv: MARIA_ROOT_PASSWORD }
  - { name: cache, type: redis, host: 127.0.0.1, port: 6379 }
  - { name: hosts, type: ssh }            # Breakglass generates and keeps the CA key
accounts:
  - { name: maria-bg,  target: maria, mode: prestaged, user: bg_admin, policy: p0 }
  - { name: maria-jit, target: maria, mode: ephemeral, privileges: ["ALL PRIVILEGES ON *.*"], policy: p0 }
  - { name: redis-bg,  target: cache, mode: prestaged, user: bg_admin, policy: p0 }
  - { name: redis-jit, target: cache, mode: ephemeral, rules: "on ~* &* +@all", policy: p0 }
  - { name: ssh-root,  target: hosts, mode: ephemeral, principals: [root], policy: p0 }
policies:
  - { name: p0, conditions: [outage], approval: { mode: post-hoc }, defaultTtl: 15m, maxTtl: 1h }
`;

const lines = (text: string): string[] => {
  try {
    parseCatalogYaml(text);
    return [];
  } catch (error) {
    return (error as Error).message.split('\n');
  }
};

describe('connector catalog', () => {
  it('accepts the contract file unchanged', () => {
    const file = parseCatalogYaml(contract);
    expect(file.targets.map((t) => t.type)).toEqual(['mysql', 'redis', 'ssh']);
    const resolved = resolvePasswords(file, { MARIA_ROOT_PASSWORD: 'pw' });
    expect(resolved.targets[0]).toMatchObject({ name: 'maria', password: 'pw' });
    expect(resolved.targets[1]).not.toHaveProperty('password');
  });

  it('derives each account principal and connector spec', () => {
    const [mariaBg, mariaJit, , redisJit, ssh] = parseCatalogYaml(contract).accounts;
    expect(accountPrincipal(mariaBg!)).toBe('bg_admin');
    expect(accountSpec(mariaBg!)).toEqual({ user: 'bg_admin' });
    expect(accountSpec(mariaJit!)).toEqual({ privileges: ['ALL PRIVILEGES ON *.*'] });
    expect(accountSpec(redisJit!)).toEqual({ rules: 'on ~* &* +@all' });
    expect(accountSpec(ssh!)).toEqual({ principals: ['root'] });
  });

  it('names a missing account field for the target type and mode', () => {
    expect(lines(contract.replace('privileges: ["ALL PRIVILEGES ON *.*"], ', ''))).toEqual(['accounts[1].privileges: required for ephemeral mysql accounts']);
    expect(lines(contract.replace('principals: [root], ', ''))).toEqual(['accounts[4].principals: required for ephemeral ssh accounts']);
  });

  it('names a field the target type does not use', () => {
    expect(lines(contract.replace('user: bg_admin, policy: p0 }\n  - { name: maria-jit', 'user: bg_admin, rules: "+@all", policy: p0 }\n  - { name: maria-jit'))).toEqual([
      'accounts[0].rules: not used by prestaged mysql accounts',
    ]);
  });

  it('refuses a mode the target type does not support', () => {
    expect(lines(contract.replace('{ name: ssh-root,  target: hosts, mode: ephemeral', '{ name: ssh-root,  target: hosts, mode: prestaged'))).toEqual([
      'accounts[4].mode: ssh targets support mode ephemeral, not prestaged',
    ]);
  });

  it('checks connection settings per type', () => {
    expect(lines(contract.replace('port: 6379', 'port: 70000'))).toEqual(['targets[1].port: must be between 1 and 65535']);
    expect(lines(contract.replace('{ name: hosts, type: ssh }', '{ name: hosts, type: ssh, krlPath: relative.krl }'))).toEqual([
      'targets[2].krlPath: must be an absolute path',
    ]);
  });

  it('reserved: a pre-staged login the target reserves is refused at apply, naming the account field', () => {
    const pg = (role: string) => `
targets:
  - { name: db, type: postgres, host: 127.0.0.1, port: 5432, database: postgres, user: breakglass_admin }
accounts:
  - { name: bg, target: db, mode: prestaged, role: ${role}, adopt: true, policy: p0 }
policies:
  - { name: p0, conditions: [outage], approval: { mode: post-hoc }, defaultTtl: 15m, maxTtl: 1h }
`;
    expect(lines(pg('pg_monitor'))).toEqual(['accounts[0].role: "pg_monitor" is reserved (PostgreSQL reserves the pg_ prefix for its own roles); choose another login for the break-glass account']);
    expect(lines(pg('breakglass_admin'))[0]).toMatch(/^accounts\[0\]\.role: "breakglass_admin" is reserved \(it is the target's admin role/);
    expect(lines(pg('bg_admin'))).toEqual([]);
  });

  it('tls and allowCleartext are target settings; a malformed tls is refused with its path', () => {
    const target = (tls: string) => contract.replace('{ name: cache, type: redis, host: 127.0.0.1, port: 6379 }', `{ name: cache, type: redis, host: 127.0.0.1, port: 6379, tls: ${tls}, allowCleartext: false }`);
    expect(lines(target('{ caFile: /etc/ssl/ca.pem, verify: true }'))).toEqual([]);
    expect(lines(target('true'))).toEqual([]);
    expect(lines(target('{ caFile: relative.pem }'))[0]).toMatch(/^targets\[1\]\.tls/);
    expect(lines(target('{ verfy: false }'))[0]).toMatch(/^targets\[1\]\.tls/);
  });
});
