/**
 * Issue 12 (P1): a pre-staged MariaDB account holds exactly its declared `privileges`, against
 * the real server on 127.0.0.1:3306 (root, empty password): staging revokes what else it held,
 * SHOW GRANTS shows the declaration, and `inspect` reports a difference made by hand.
 * Accounts start with `bgp_` and are dropped in afterAll.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlConnector } from '../../src/connectors/mysql/mysql-connector.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { probeTcp, requireService } from '../support/integration.js';

const HOST = '127.0.0.1';
const PORT = 3306;
const check = await requireService(`MariaDB on ${HOST}:${PORT}`, () => probeTcp(HOST, PORT));
const run = Date.now().toString(36);
let counter = 0;
const created = new Set<string>();
const newUser = () => {
  const user = `bgp_${run}_${++counter}`;
  created.add(user);
  return user;
};
const quoted = (user: string) => `\`${user}\`@\`%\``;
const DB = `bgp_${run}_db`;

async function adminQuery<T>(sql: string): Promise<T[]> {
  const conn = await mysql.createConnection({ host: HOST, port: PORT, user: 'root', password: '' });
  try {
    const [rows] = await conn.query(sql);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

/** SHOW GRANTS lines without the password part. */
const showGrants = async (user: string) =>
  (await adminQuery<Record<string, string>>(`SHOW GRANTS FOR ${quoted(user)}`)).map((row) => Object.values(row)[0]!.replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '')).sort();

describe.skipIf(check.skip)('mysql declared privileges (shared MariaDB)', () => {
  let connector: Connector;
  let db: PrestagedOperations;

  beforeAll(async () => {
    connector = createMysqlConnector({ type: 'mysql', settings: { host: HOST, port: PORT, user: 'root' }, adminSecret: '' });
    db = connector.prestaged!;
    await adminQuery(`CREATE DATABASE IF NOT EXISTS \`${DB}\``);
    await adminQuery(`CREATE TABLE IF NOT EXISTS \`${DB}\`.t (x int)`);
  });
  afterAll(async () => {
    for (const user of created) await adminQuery(`DROP USER IF EXISTS ${quoted(user)}`).catch(() => undefined);
    await adminQuery(`DROP DATABASE IF EXISTS \`${DB}\``).catch(() => undefined);
    await connector?.close();
  });

  it('the privileges declared are exactly what SHOW GRANTS shows; inspect agrees', async () => {
    const user = newUser();
    const spec = { user, privileges: ['SELECT, INSERT ON ' + `${DB}.t`, 'PROCESS ON *.*'] };
    await db.stage(user, 'pw-1', spec);
    expect(await showGrants(user)).toEqual([`GRANT PROCESS ON *.* TO ${quoted(user)}`, `GRANT SELECT, INSERT ON \`${DB}\`.\`t\` TO ${quoted(user)}`].sort());
    expect((await db.inspect(user, spec)).privilegeDifferences).toEqual([]);
  });

  it('staging revokes what was not declared; a grant made by hand is a difference inspect names', async () => {
    const user = newUser();
    const spec = { user, privileges: [`SELECT ON ${DB}.*`] };
    await db.stage(user, 'pw-1', { user, privileges: ['SUPER ON *.*', `ALL ON ${DB}.*`] });
    await db.stage(user, 'pw-2', spec, { adopt: true });
    expect(await showGrants(user)).toEqual([`GRANT USAGE ON *.* TO ${quoted(user)}`, `GRANT SELECT ON \`${DB.replace(/_/g, '\\_')}\`.* TO ${quoted(user)}`].sort());
    expect((await db.inspect(user, spec)).privilegeDifferences).toEqual([]);

    await adminQuery(`GRANT DELETE ON \`${DB}\`.t TO ${quoted(user)}`);
    const differences = (await db.inspect(user, spec)).privilegeDifferences;
    expect(differences).toEqual([`privileges on \`${DB}\`.\`t\`: undeclared DELETE`]);
    expect(JSON.stringify(differences)).not.toMatch(/\*[0-9A-F]{40}/);
    // Without a spec nothing is compared (the old answer).
    expect((await db.inspect(user)).privilegeDifferences).toBeUndefined();
  });

  it('no privileges declared: staging leaves only USAGE, whatever the login held', async () => {
    const user = newUser();
    await adminQuery(`CREATE USER ${quoted(user)} IDENTIFIED BY 'theirs' ACCOUNT LOCK`);
    await adminQuery(`GRANT SELECT ON \`${DB}\`.* TO ${quoted(user)}`);
    await db.stage(user, 'pw', { user });
    expect(await showGrants(user)).toEqual([`GRANT USAGE ON *.* TO ${quoted(user)}`]);
    expect((await db.inspect(user, { user })).privilegeDifferences).toEqual([]);
  });
});
