import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogApplySchema, formatIssues, parseCatalogYaml, resolvePasswords } from '../../config/catalog-file.js';
import { AppError } from '../../errors/index.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0gX2y1m9l2Jb9t2iSg8vJ7m8Wm2G4yYFh8H0aW2Xx root@db1';

const yaml = (target: string, accounts = '') => `
targets:
  - { name: db-host, type: unix, host: db1.internal, port: 22, user: breakglass, hostKey: "${HOST_KEY}", ${target} }
policies:
  - { name: p0, conditions: [outage], approval: { mode: post-hoc }, defaultTtl: 15m, maxTtl: 1h }
accounts:
${accounts || '  - { name: oncall, target: db-host, mode: prestaged, user: oncall-root, groups: [sudo], policy: p0 }\n  - { name: temp, target: db-host, mode: ephemeral, groups: [sudo, adm], policy: p0 }'}
`;

function validationLines(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).message;
  }
  throw new Error('expected a validation error');
}

describe('type: unix in the catalog (issue 12, P3)', () => {
  it('privateKeyEnv is read at apply time and travels as the target password, never as a setting', () => {
    const applied = resolvePasswords(parseCatalogYaml(yaml('privateKeyEnv: DB1_ADMIN_KEY')), { DB1_ADMIN_KEY: KEY });
    const target = applied.targets[0]!;
    expect(target['password']).toBe(KEY);
    expect(target).not.toHaveProperty('privateKeyEnv');
    const body = catalogApplySchema.safeParse(applied);
    expect(body.success ? [] : formatIssues(body.error)).toEqual([]);
  });

  it('an unset or empty privateKeyEnv, or one beside passwordEnv, is refused', () => {
    expect(validationLines(() => resolvePasswords(parseCatalogYaml(yaml('privateKeyEnv: DB1_ADMIN_KEY')), {}))).toMatch(/privateKeyEnv: environment variable DB1_ADMIN_KEY is not set/);
    expect(validationLines(() => resolvePasswords(parseCatalogYaml(yaml('privateKeyEnv: DB1_ADMIN_KEY')), { DB1_ADMIN_KEY: '' }))).toMatch(/is empty/);
    expect(validationLines(() => resolvePasswords(parseCatalogYaml(yaml('privateKeyEnv: K, passwordEnv: P')), { K: KEY, P: 'pw' }))).toMatch(/privateKeyEnv only/);
  });

  it('hostKey is required and must be a public key line; host never an option; user a login name', () => {
    const without = yaml('privateKeyEnv: K').replace(`hostKey: "${HOST_KEY}", `, '');
    expect(validationLines(() => parseCatalogYaml(without))).toMatch(/hostKey/);
    expect(validationLines(() => parseCatalogYaml(yaml('privateKeyEnv: K').replace(HOST_KEY, 'not a key')))).toMatch(/hostKey/);
    expect(validationLines(() => parseCatalogYaml(yaml('privateKeyEnv: K').replace('db1.internal', '-oProxyCommand=id')))).toMatch(/host/);
    expect(validationLines(() => parseCatalogYaml(yaml('privateKeyEnv: K').replace('user: breakglass', 'user: "Bad User"')))).toMatch(/user/);
  });

  it('accounts: user and groups; root and the target user are reserved; groups are names', () => {
    const account = (fields: string) => yaml('privateKeyEnv: K', `  - { name: a, target: db-host, mode: prestaged, ${fields}, policy: p0 }`);
    expect(validationLines(() => parseCatalogYaml(account('user: root')))).toMatch(/reserved/);
    expect(validationLines(() => parseCatalogYaml(account('user: breakglass')))).toMatch(/reserved/);
    expect(validationLines(() => parseCatalogYaml(account('user: oncall, groups: ["sudo,root"]')))).toMatch(/groups/);
    expect(validationLines(() => parseCatalogYaml(yaml('privateKeyEnv: K', '  - { name: e, target: db-host, mode: ephemeral, user: x, policy: p0 }')))).toMatch(/user/);
  });

  it('the README example of type: unix is a complete catalog the CLI accepts', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**Unix local accounts (`type: unix`).**'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const applied = resolvePasswords(parseCatalogYaml(example), { DB1_ADMIN_KEY: KEY });
    expect(applied.targets[0]).toMatchObject({ type: 'unix', user: 'breakglass', password: KEY });
    expect(applied.accounts.map((a) => [a.mode, a['user'], a['groups']])).toEqual([['prestaged', 'oncall-root', ['sudo']], ['ephemeral', undefined, ['sudo']]]);
  });
});
