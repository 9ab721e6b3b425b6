import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountPrincipal, accountSpec, catalogApplySchema, catalogFileSchema, formatIssues, generatedSecretTypes } from '../config/catalog-file.js';
import { loadConnectorDrivers } from './index.js';
import { connectorSpecs, type ConnectorSpec } from './specs.js';

const specs = Object.entries(connectorSpecs) as [string, ConnectorSpec][];
const connectorDrivers = await loadConnectorDrivers();
const policy = { name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' };

/** The catalog of a spec's example: its target, its accounts and the policy they name. */
const exampleCatalog = (spec: ConnectorSpec) => ({ targets: [spec.example.target], policies: [policy], accounts: [...spec.example.accounts] });

describe('connector registry: a new target type is one folder and one registry line', () => {
  it('the registry is the only file naming the connector folders, one line per type (src/app and src/config name none)', () => {
    const registry = readFileSync(join(import.meta.dirname, 'specs.ts'), 'utf8');
    for (const type of Object.keys(connectorSpecs)) {
      const lines = registry.split('\n').filter((line) => line.includes(`./${type}/${type}-connector.js`));
      expect(lines, type).toHaveLength(1);
      expect(lines[0], type).toMatch(new RegExp(`^  ${type}: \\{ spec: ${type}Spec, driver: `));
    }
    for (const dir of ['../app', '../config']) {
      for (const file of readdirSync(join(import.meta.dirname, dir)).filter((f) => f.endsWith('.ts'))) {
        const code = readFileSync(join(import.meta.dirname, dir, file), 'utf8');
        expect(code.match(/connectors\/(?!index\.js|specs\.js)[a-z]+\//)?.[0], `${dir}/${file}`).toBeUndefined();
      }
    }
  });

  it('every registered type has a driver, and every driver a spec', () => {
    expect(Object.keys(connectorDrivers).sort()).toEqual(Object.keys(connectorSpecs).sort());
    for (const [type] of specs) expect(typeof connectorDrivers[type]?.create, type).toBe('function');
  });

  it.each(specs)('the catalog accepts the %s example, in the file and in the apply body', (type, spec) => {
    const file = catalogFileSchema.safeParse(exampleCatalog(spec));
    expect(file.success ? [] : formatIssues(file.error), type).toEqual([]);
    const { passwordEnv, ...target } = spec.example.target;
    const applied = { ...exampleCatalog(spec), targets: [{ ...target, ...(passwordEnv === undefined ? {} : { password: 'pw' }) }] };
    const apply = catalogApplySchema.safeParse(applied);
    expect(apply.success ? [] : formatIssues(apply.error), type).toEqual([]);
  });

  it.each(specs)('the %s example shows every mode the type supports, with its principal', (type, spec) => {
    const modes = spec.example.accounts.map((account) => account['mode']);
    expect(modes.sort(), type).toEqual(Object.keys(spec.accounts).sort());
    for (const account of spec.example.accounts) {
      const principal = accountPrincipal(account);
      if (account['mode'] === 'prestaged') expect(principal).toBe(account[spec.principalField ?? '(none)']);
      expect(Object.keys(accountSpec(account)).every((key) => key in (spec.accounts[account['mode'] as 'prestaged'] ?? {}))).toBe(true);
    }
  });

  it.each(specs)('%s: a pre-staged account has a required principal field; only pre-staged types name one', (type, spec) => {
    const prestaged = spec.accounts.prestaged;
    if (prestaged === undefined) return expect(spec.principalField, type).toBeUndefined();
    const field = spec.principalField ?? '';
    expect(prestaged[field]?.safeParse(undefined).success, `${type}.${field}`).toBe(false);
  });

  it('refuses an unknown target type, naming the registered ones', () => {
    const result = catalogFileSchema.safeParse({ targets: [{ name: 'x', type: 'mongodb' }] });
    expect(result.success ? [] : formatIssues(result.error)).toEqual([`targets[0].type: unsupported target type; supported: ${Object.keys(connectorSpecs).join(', ')}`]);
  });

  it('generated admin secrets come from the specs, and those drivers can generate one', () => {
    expect(generatedSecretTypes).toEqual(specs.filter(([, spec]) => spec.generatesAdminSecret).map(([type]) => type));
    for (const type of generatedSecretTypes) expect(typeof connectorDrivers[type]?.generateAdminSecret, type).toBe('function');
  });

  it('src/config has no per-type table: no registered type is named in its code', () => {
    const dir = join(import.meta.dirname, '../config');
    const sources = readdirSync(dir).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    const typeNames = Object.keys(connectorSpecs).join('|');
    const literal = new RegExp(`['"\`](?:${typeNames})['"\`]|\\b(?:${typeNames})\\s*:`);
    for (const file of sources) {
      const code = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(literal.exec(code)?.[0], file).toBeUndefined();
    }
  });
});
