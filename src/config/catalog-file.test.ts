import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { catalogApplySchema, catalogFileSchema, formatIssues, parseCatalogYaml, resolvePasswords } from './catalog-file.js';

const example = `targets:
  - name: prod-pg
    type: postgres
    host: 127.0.0.1
    port: 55432
    database: postgres
    user: admin
    passwordEnv: PG_ADMIN_PASSWORD   # read at apply time, stored sealed
policies:
  - name: p0
    conditions: [outage, lockout, security-incident]
    incidentPattern: "^INC-[0-9]+$"
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - name: pg-breakglass
    target: prod-pg
    mode: prestaged
    role: bg_admin
    policy: p0
users:
  - { name: alice, roles: [responder] }
  - { name: bob, roles: [incident-owner] }
`;

/** The AppError that parsing `text` throws. */
function failure(text: string): AppError {
  try {
    parseCatalogYaml(text);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the catalog to be rejected');
}

const lines = (text: string) => failure(text).message.split('\n');

describe('parseCatalogYaml', () => {
  it('accepts the documented example unchanged', () => {
    const file = parseCatalogYaml(example);
    expect(file.targets).toEqual([
      { name: 'prod-pg', type: 'postgres', host: '127.0.0.1', port: 55432, database: 'postgres', user: 'admin', passwordEnv: 'PG_ADMIN_PASSWORD' },
    ]);
    expect(file.policies[0]).toMatchObject({ name: 'p0', defaultTtl: '15m', maxTtl: '1h', approval: { mode: 'post-hoc' } });
    expect(file.accounts).toEqual([{ name: 'pg-breakglass', target: 'prod-pg', mode: 'prestaged', role: 'bg_admin', policy: 'p0' }]);
    expect(file.users.map((u) => u.name)).toEqual(['alice', 'bob']);
  });

  it('defaults every section to an empty list', () => {
    expect(parseCatalogYaml('')).toEqual({ targets: [], policies: [], accounts: [], users: [], channels: [], routes: [] });
    expect(parseCatalogYaml('users: [{ name: carol, roles: [auditor] }]').targets).toEqual([]);
  });

  it('names an unknown policy with the path of the reference', () => {
    const error = failure(example.replace('policy: p0', 'policy: p9'));
    expect(error.code).toBe('validation');
    expect(error.message).toBe('accounts[0].policy: unknown policy "p9"');
    expect(error.path).toBe('accounts[0].policy');
  });

  it('names an unknown target', () => {
    expect(lines(example.replace('target: prod-pg', 'target: x'))).toEqual(['accounts[0].target: unknown target "x"']);
  });

  it('rejects duplicate names within a section', () => {
    const twice = example.replace('users:', '  - { name: pg-breakglass, target: prod-pg, mode: prestaged, role: bg2, policy: p0 }\nusers:');
    expect(lines(twice)).toEqual(['accounts[1].name: duplicate account "pg-breakglass"']);
    expect(lines(`${example}  - { name: alice, roles: [auditor] }\n`)).toEqual(['users[2].name: duplicate user "alice"']);
  });

  it('rejects a ttl that is not a duration', () => {
    expect(lines(example.replace('defaultTtl: 15m', 'defaultTtl: 15 minutes'))).toEqual([
      'policies[0].defaultTtl: "15 minutes" is not a duration; use a number and s, m, h or d, e.g. 10s, 15m, 1h, 2d',
    ]);
  });

  // issue 11 (H3)
  it('certifyWithin is a duration, named by its path when it is not', () => {
    expect(parseCatalogYaml(example.replace('maxTtl: 1h', 'maxTtl: 1h\n    certifyWithin: 72h')).policies[0]?.certifyWithin).toBe('72h');
    expect(lines(example.replace('maxTtl: 1h', 'maxTtl: 1h\n    certifyWithin: soon'))).toEqual([
      'policies[0].certifyWithin: "soon" is not a duration; use a number and s, m, h or d, e.g. 10s, 15m, 1h, 2d',
    ]);
  });

  it('rejects maxTtl shorter than defaultTtl and minTtl longer than defaultTtl', () => {
    expect(lines(example.replace('maxTtl: 1h', 'maxTtl: 10m'))).toEqual(['policies[0].maxTtl: maxTtl 10m is shorter than defaultTtl 15m']);
    expect(lines(example.replace('maxTtl: 1h', 'maxTtl: 1h\n    minTtl: 20m'))).toEqual(['policies[0].minTtl: minTtl 20m is longer than defaultTtl 15m']);
    expect(parseCatalogYaml(example.replace('maxTtl: 1h', 'maxTtl: 1h\n    minTtl: 1m')).policies[0]?.minTtl).toBe('1m');
  });

  it('rejects an incident pattern that does not compile', () => {
    expect(lines(example.replace('"^INC-[0-9]+$"', '"^INC-[0-9+$"'))).toEqual([
      'policies[0].incidentPattern: is not a valid regular expression for the linear-time engine (RE2): error parsing regexp: missing closing ]: `[0-9+$`',
    ]);
  });

  it('patterns cannot freeze the server: the catalog checks incidentPattern with the linear-time engine, not a syntax blacklist', () => {
    // Shapes that backtrack exponentially in a backtracking engine are harmless in RE2: accepted.
    for (const shape of ['(a+)+$', '(a|aa)+$', '(\\\\w+\\\\s?)*$', '^(INC-[0-9]+)+$']) {
      expect(parseCatalogYaml(example.replace('"^INC-[0-9]+$"', `"${shape}"`)).policies[0]?.incidentPattern, shape).toBeDefined();
    }
    // What RE2 cannot run (lookaround, backreferences) is refused, with the path named.
    expect(lines(example.replace('"^INC-[0-9]+$"', '"^(?=INC)INC-[0-9]+$"'))).toEqual([
      'policies[0].incidentPattern: is not a valid regular expression for the linear-time engine (RE2): error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    ]);
    expect(lines(example.replace('"^INC-[0-9]+$"', '"^(INC)-\\\\1$"'))).toEqual([
      'policies[0].incidentPattern: is not a valid regular expression for the linear-time engine (RE2): error parsing regexp: invalid escape sequence: `\\1`',
    ]);
  });

  it('rejects a port outside 1–65535', () => {
    for (const port of ['0', '65536', '"5432"', '54.5']) {
      const error = failure(example.replace('port: 55432', `port: ${port}`));
      expect(error.path).toBe('targets[0].port');
      expect(error.message).toMatch(/^targets\[0\]\.port: /);
    }
  });

  it('rejects an unknown role, an unknown target type and an unknown approval mode', () => {
    expect(lines(example.replace('[responder]', '[responder, wizard]'))).toEqual([
      'users[0].roles[1]: unknown role; roles are admin, responder, incident-owner, custodian, auditor, approver, incident-system',
    ]);
    expect(lines(example.replace('type: postgres', 'type: mongodb'))).toEqual(['targets[0].type: unsupported target type; supported: postgres, mysql, redis, ssh, ldap, exec, unix, ad']);
    expect(lines(example.replace('mode: post-hoc', 'mode: quorum'))).toEqual(['policies[0].approval.mode: unsupported approval mode; supported: post-hoc, approvers']);
  });

  it('rejects unknown fields, so a typo cannot silently drop a setting', () => {
    expect(lines(example.replace('passwordEnv: PG', 'pasword: PG'))).toEqual(['targets[0].pasword: unknown field']);
    expect(lines(`${example}acounts: []\n`)).toEqual(['acounts: unknown field']);
  });

  it('rejects bad names and principals', () => {
    expect(failure(example.replace('name: alice', 'name: Alice')).path).toBe('users[0].name');
    expect(failure(example.replace('role: bg_admin', `role: ${'r'.repeat(64)}`)).path).toBe('accounts[0].role');
    expect(failure(example.replace('role: bg_admin', 'role: "bg\\0admin"')).message).toBe('accounts[0].role: must not contain NUL');
    expect(lines(example.replace('conditions: [outage, lockout, security-incident]', 'conditions: []'))).toEqual([
      'policies[0].conditions: list at least one condition',
    ]);
  });

  it('reserved names: a catalog user cannot be named system (or any name the engine uses for itself)', () => {
    expect(lines(example.replace('name: alice', 'name: system'))).toEqual(['users[0].name: "system" is reserved for the engine itself; choose another name']);
    expect(failure(example.replace('name: alice', 'name: "local:root"')).path).toBe('users[0].name');
  });

  it('users may be declared as service users or disabled', () => {
    const doc = parseCatalogYaml(example.replace('{ name: alice, roles: [responder] }', '{ name: alice, roles: [responder], service: true, disabled: true }'));
    expect(doc.users[0]).toMatchObject({ name: 'alice', service: true, disabled: true });
    expect(failure(example.replace('{ name: alice, roles: [responder] }', '{ name: alice, roles: [responder], service: yes-please }')).path).toBe('users[0].service');
  });

  it('reports every problem at once, the first one as the path', () => {
    const error = failure(example.replace('port: 55432', 'port: 0').replace('policy: p0', 'policy: p9'));
    expect(error.message.split('\n')).toEqual(['targets[0].port: must be between 1 and 65535', 'accounts[0].policy: unknown policy "p9"']);
    expect(error.path).toBe('targets[0].port');
  });

  it('reports a YAML syntax error with its line and column', () => {
    const error = failure('targets:\n  - name: a\n    host: [unclosed\npolicies: []\n');
    expect(error.code).toBe('validation');
    expect(error.message).toMatch(/^line \d+, column \d+: /);
    expect(error.message.split('\n')).toHaveLength(1);
    expect(lines('users: []\nusers: []\n')).toEqual(['line 2, column 1: Map keys must be unique']);
  });

  it('rejects a document that is not a mapping', () => {
    expect(lines('- a\n- b\n')).toEqual(['(document): a catalog is a mapping with targets, policies, accounts, users, channels and routes']);
  });
});

describe('formatIssues', () => {
  it('writes one `path: message` line per issue', () => {
    const result = catalogFileSchema.safeParse({ targets: [{ name: 'a', type: 'postgres', host: 'h', port: 70000, database: 'd', user: 'u' }] });
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error)).toEqual(['targets[0].port: must be between 1 and 65535']);
  });
});

describe('resolvePasswords', () => {
  const file = () => parseCatalogYaml(example);

  it('replaces passwordEnv by the password from the environment', () => {
    const applied = resolvePasswords(file(), { PG_ADMIN_PASSWORD: 's3cret' });
    expect(applied.targets[0]).toEqual({ name: 'prod-pg', type: 'postgres', host: '127.0.0.1', port: 55432, database: 'postgres', user: 'admin', password: 's3cret' });
    expect(JSON.stringify(applied)).not.toContain('PG_ADMIN_PASSWORD');
    expect(catalogApplySchema.parse(applied)).toEqual(applied);
  });

  it('refuses a missing or empty variable instead of defaulting the secret', () => {
    for (const env of [{}, { PG_ADMIN_PASSWORD: '' }]) {
      let caught: unknown;
      try {
        resolvePasswords(file(), env);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('validation');
      expect((caught as AppError).path).toBe('targets[0].passwordEnv');
    }
    expect(() => resolvePasswords(file(), {})).toThrow('targets[0].passwordEnv: environment variable PG_ADMIN_PASSWORD is not set');
  });

  it('leaves a target without passwordEnv without a password', () => {
    const applied = resolvePasswords(parseCatalogYaml(example.replace(/\n\s+passwordEnv:.*\n/, '\n')), {});
    expect(applied.targets[0]).not.toHaveProperty('password');
  });

  it('the apply schema does not accept passwordEnv (the server cannot read the environment)', () => {
    const applied = resolvePasswords(file(), { PG_ADMIN_PASSWORD: 'x' });
    const withEnv = { ...applied, targets: [{ ...applied.targets[0], passwordEnv: 'X' }] };
    expect(catalogApplySchema.safeParse(withEnv).success).toBe(false);
  });
});

// issue 11 (H4): invocation criteria in the catalog, each problem at its own path.
describe('policy invocation criteria', () => {
  const withPolicy = (fields: string) => example.replace('    maxTtl: 1h\n', `    maxTtl: 1h\n${fields}`);

  it('accepts reasonMinLength, invokers naming roles and declared users, and an incidentCheck', () => {
    const file = parseCatalogYaml(
      withPolicy('    reasonMinLength: 10\n    invokers: [admin, bob]\n    incidentCheck: { url: "https://itsm.example/api/incidents/{incident}", onUnreachable: deny, timeout: 3s }\n'),
    );
    expect(file.policies[0]).toMatchObject({
      reasonMinLength: 10,
      invokers: ['admin', 'bob'],
      incidentCheck: { url: 'https://itsm.example/api/incidents/{incident}', onUnreachable: 'deny', timeout: '3s' },
    });
  });

  it('reasonMinLength must be a whole number, 0 or more', () => {
    expect(lines(withPolicy('    reasonMinLength: -1\n'))).toEqual(['policies[0].reasonMinLength: must be 0 or more']);
    expect(lines(withPolicy('    reasonMinLength: 2.5\n'))).toEqual(['policies[0].reasonMinLength: must be a whole number of characters']);
  });

  it('invokers: each name is a role or a declared user', () => {
    expect(lines(withPolicy('    invokers: [responder, mallory]\n'))).toEqual([
      'policies[0].invokers[1]: "mallory" is neither a role (admin, responder, incident-owner, custodian, auditor, approver, incident-system) nor a declared user',
    ]);
  });

  it('incidentCheck: the URL is https (http only to loopback or with allowCleartext) and has {incident}', () => {
    const check = (fields: string) => lines(withPolicy(`    incidentCheck: { ${fields} }\n`));
    expect(check('url: "http://itsm.example/incidents/{incident}", onUnreachable: deny')).toEqual([
      'policies[0].incidentCheck.url: must be an https:// URL (http:// only to a loopback host, or with allowCleartext: true)',
    ]);
    expect(parseCatalogYaml(withPolicy('    incidentCheck: { url: "http://itsm.example/incidents/{incident}", onUnreachable: deny, allowCleartext: true }\n')).policies[0]).toMatchObject({
      incidentCheck: { allowCleartext: true },
    });
    expect(parseCatalogYaml(withPolicy('    incidentCheck: { url: "http://127.0.0.1:8080/incidents/{incident}", onUnreachable: allow }\n')).policies[0]).toMatchObject({
      incidentCheck: { onUnreachable: 'allow' },
    });
    expect(check('url: "https://itsm.example/incidents", onUnreachable: deny')).toEqual(['policies[0].incidentCheck.url: must contain {incident}, replaced by the incident reference']);
    expect(check('url: "not a url {incident}", onUnreachable: deny')[0]).toMatch(/^policies\[0\]\.incidentCheck\.url: must be a URL/);
    expect(check('url: "https://itsm.example/{incident}", onUnreachable: maybe')).toEqual(['policies[0].incidentCheck.onUnreachable: must be allow or deny']);
    expect(check('url: "https://itsm.example/{incident}"')).toEqual(['policies[0].incidentCheck.onUnreachable: must be allow or deny']);
    expect(check('url: "https://itsm.example/{incident}", onUnreachable: deny, timeout: 1m')).toEqual(['policies[0].incidentCheck.timeout: must be at most 30s']);
    expect(check('url: "https://itsm.example/{incident}", onUnreachable: deny, header: x')).toEqual(['policies[0].incidentCheck.header: unknown field']);
  });
});
