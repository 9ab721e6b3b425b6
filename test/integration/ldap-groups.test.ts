/**
 * Issue 12 (LDAP group memberships): a pre-staged LDAP entry's declared `groups`, given exactly
 * at staging and compared by `inspect`, against a private OpenLDAP slapd (a real server; with the
 * memberof overlay where this machine has it, so the adopt check sees memberOf too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapConnector } from '../../src/connectors/ldap/ldap-connector.js';
import { AppError } from '../../src/errors/index.js';
import type { Connector, PrestagedOperations } from '../../src/ports/index.js';
import { requireService } from '../support/integration.js';
import {
  slapdAddGroup,
  slapdAvailable,
  slapdGroupsOf,
  slapdGroupsOu,
  slapdHasMemberOf,
  slapdLogin,
  slapdPlant,
  slapdRead,
  slapdSetMember,
  startSlapd,
  type Slapd,
} from '../support/slapd.js';

const check = await requireService('OpenLDAP slapd (/usr/sbin/slapd with back_mdb and ppolicy)', slapdAvailable);
const withMemberOf = slapdHasMemberOf();

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;
const secret = (label: string) => `pw-${label}-${unique()}`;

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

describe.skipIf(check.skip)('ldap connector: declared group memberships (real slapd)', () => {
  let slapd: Slapd;
  let connector: Connector;
  let ops: PrestagedOperations;
  let groupsOu: string;
  /** A fresh group of `kind` with one bystander member (groupOfNames needs one), its DN lowercased-comparable. */
  let group: (label: string, kind?: 'groupOfNames' | 'groupOfUniqueNames') => Promise<string>;
  let bystander: string;
  const person = (label: string) => `uid=${label}-${unique()},${slapd.peopleDn}`;

  beforeAll(async () => {
    slapd = await startSlapd({ memberOf: withMemberOf });
    connector = createLdapConnector({
      type: 'ldap',
      settings: { url: slapd.url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, allowCleartext: true },
      adminSecret: slapd.adminPassword,
    });
    ops = connector.prestaged!;
    groupsOu = await slapdGroupsOu(slapd);
    bystander = `uid=bystander,${slapd.peopleDn}`;
    await slapdPlant(slapd, bystander, undefined);
    group = async (label, kind = 'groupOfNames') => {
      const cn = `${label}-${unique()}`;
      const dn = `cn=${cn},${groupsOu}`;
      await slapdAddGroup(slapd, dn, cn, [bystander], kind);
      return dn;
    };
  }, 60_000);

  afterAll(async () => {
    await connector?.close();
    await slapd?.stop();
  });

  it('stage gives exactly the declared memberships (member and uniqueMember); one planted by hand elsewhere is removed', async () => {
    const dn = person('exact');
    const admins = await group('admins');
    const auditors = await group('auditors', 'groupOfUniqueNames');
    const dba = await group('dba');
    const spec = { dn, groups: [admins, auditors] };
    await ops.stage(dn, secret('exact'), spec);
    expect(await slapdGroupsOf(slapd, dn)).toEqual([admins, auditors].sort());
    expect((await slapdRead(slapd, auditors, ['uniqueMember']))?.['uniqueMember']).toContain(dn);

    await slapdSetMember(slapd, dba, 'add', 'member', dn);
    expect(await slapdGroupsOf(slapd, dn)).toContain(dba);
    // Breakglass staged this entry before: the catalog passes adopt (memberOf shows dba now).
    await ops.stage(dn, secret('exact-again'), spec, { adopt: true });
    expect(await slapdGroupsOf(slapd, dn)).toEqual([admins, auditors].sort());
    // Only the account left dba: the bystander is still there.
    expect(await slapdGroupsOf(slapd, bystander)).toContain(dba);
    expect((await ops.inspect(dn, spec)).privilegeDifferences).toEqual([]);
  });

  it('inspect reports a membership removed and one added by hand after staging; undefined without a spec or groups', async () => {
    const dn = person('drift');
    const admins = await group('admins');
    const dba = await group('dba');
    const auditors = await group('auditors', 'groupOfUniqueNames');
    const spec = { dn, groups: [admins, dba] };
    await ops.stage(dn, secret('drift'), spec);
    expect((await ops.inspect(dn, spec)).privilegeDifferences).toEqual([]);

    await slapdSetMember(slapd, dba, 'delete', 'member', dn);
    await slapdSetMember(slapd, auditors, 'add', 'uniqueMember', dn);
    expect((await ops.inspect(dn, spec)).privilegeDifferences).toEqual([
      `groups: not a member of ${JSON.stringify(dba)}`,
      `groups: undeclared membership of ${JSON.stringify(auditors)}`,
    ]);
    // Declaring no group at all makes every membership undeclared.
    expect((await ops.inspect(dn, { dn, groups: [] })).privilegeDifferences).toEqual([
      `groups: undeclared membership of ${JSON.stringify(admins)}`,
      `groups: undeclared membership of ${JSON.stringify(auditors)}`,
    ]);
    // Not compared: no spec, or a spec that does not declare groups.
    expect((await ops.inspect(dn)).privilegeDifferences).toBeUndefined();
    expect((await ops.inspect(dn, { dn })).privilegeDifferences).toBeUndefined();
    expect(await ops.inspect(dn, spec)).toMatchObject({ exists: true, canLogin: false });
  });

  it('adopt: an entry Breakglass staged with its declared groups re-stages without adopt', async () => {
    const dn = person('restage');
    const admins = await group('admins');
    const spec = { dn, groups: [admins] };
    await ops.stage(dn, secret('restage'), spec);
    if (withMemberOf) expect((await slapdRead(slapd, dn, ['memberOf']))?.['memberOf']).toEqual(admins);
    const again = secret('restage-again');
    await ops.stage(dn, again, spec);
    expect(await ops.verify({ username: dn, password: again })).toBe('accepted');
    expect(await slapdGroupsOf(slapd, dn)).toEqual([admins]);
  });

  it.skipIf(!withMemberOf)('adopt: a foreign entry with an undeclared membership is still refused without adopt, and left as it was', async () => {
    const dn = person('foreign');
    await slapdPlant(slapd, dn, undefined);
    const admins = await group('admins');
    const dba = await group('dba');
    await slapdSetMember(slapd, dba, 'add', 'member', dn);
    await slapdSetMember(slapd, admins, 'add', 'member', dn);
    const err = await thrown(ops.stage(dn, secret('foreign'), { dn, groups: [admins] }));
    expect(err).toMatchObject({ code: 'conflict' });
    expect(err.message).toContain('membership of 1 group (memberOf)');
    expect(await slapdGroupsOf(slapd, dn)).toEqual([admins, dba].sort());
    // Declaring both groups: nothing undeclared, nothing refused.
    await ops.stage(dn, secret('foreign'), { dn, groups: [admins, dba] });
    expect(await slapdGroupsOf(slapd, dn)).toEqual([admins, dba].sort());
  });

  it('adopt: without the memberof overlay, a group that lists a foreign entry is still its power (found by search)', async () => {
    const plain = await startSlapd();
    const c = createLdapConnector({
      type: 'ldap',
      settings: { url: plain.url, bindDn: plain.adminDn, baseDn: plain.peopleDn, allowCleartext: true },
      adminSecret: plain.adminPassword,
    });
    try {
      const ou = await slapdGroupsOu(plain);
      const dn = `uid=listed-${unique()},${plain.peopleDn}`;
      await slapdPlant(plain, dn, undefined);
      await slapdAddGroup(plain, `cn=ops,${ou}`, 'ops', [dn]);
      const err = await thrown(c.prestaged!.stage(dn, secret('listed'), { dn }));
      expect(err).toMatchObject({ code: 'conflict' });
      expect(err.message).toContain('membership of 1 group (its DN in their member/uniqueMember)');
      // Declared, it is no longer a reason to refuse.
      await c.prestaged!.stage(dn, secret('listed'), { dn, groups: [`cn=ops,${ou}`] });
      expect(await slapdGroupsOf(plain, dn)).toEqual([`cn=ops,${ou}`]);
    } finally {
      await c.close();
      await plain.stop();
    }
  });

  it('a declared group missing on the directory, or an entry that is no group, fails naming it and writes nothing', async () => {
    const dn = person('ghost');
    const ghost = `cn=ghost-${unique()},${groupsOu}`;
    const err = await thrown(ops.stage(dn, secret('ghost'), { dn, groups: [ghost] }));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toContain(JSON.stringify(ghost));
    expect(err.message).toContain('does not exist');
    expect(await slapdRead(slapd, dn, ['objectClass'])).toBeUndefined();

    const notGroup = await thrown(ops.stage(dn, secret('ghost'), { dn, groups: [groupsOu] }));
    expect(notGroup).toMatchObject({ code: 'target_error' });
    expect(notGroup.message).toContain('is not a groupOfNames or groupOfUniqueNames');
    expect(await slapdRead(slapd, dn, ['objectClass'])).toBeUndefined();
  });

  it('leaving a group it is the only member of fails clearly instead of emptying the group', async () => {
    const dn = person('solo');
    await ops.stage(dn, secret('solo'), { dn, groups: [] });
    const cn = `solo-${unique()}`;
    const solo = `cn=${cn},${groupsOu}`;
    await slapdAddGroup(slapd, solo, cn, [dn]);
    const err = await thrown(ops.stage(dn, secret('solo'), { dn, groups: [] }, { adopt: true }));
    expect(err).toMatchObject({ code: 'target_error', retryable: false });
    expect(err.message).toContain(JSON.stringify(solo));
    expect(err.message).toContain("the group's only member");
    expect(await slapdGroupsOf(slapd, dn)).toEqual([solo]);
  });

  it('injection: hostile group and account DNs are values, never filter text; malformed ones are refused with validation', async () => {
    // Filter metacharacters in the group's name and in the account's: as text spliced into a
    // filter they would match other entries; as filter objects they match exactly one value.
    const cn = `star*(paren)|&!back\\slash-${unique()}`;
    const hostileGroup = `cn=${cn.replace('\\', '\\\\')},${groupsOu}`;
    await slapdAddGroup(slapd, hostileGroup, cn, [bystander]);
    await group('dba');
    const before = await slapdGroupsOf(slapd, bystander);
    const dn = `cn=evil*)(|(uid*,${slapd.peopleDn}`;
    await ops.stage(dn, secret('evil'), { dn, groups: [hostileGroup] });
    expect(await slapdGroupsOf(slapd, dn)).toHaveLength(1);
    expect((await slapdRead(slapd, hostileGroup, ['member']))?.['member']).toContain(dn);
    expect((await ops.inspect(dn, { dn, groups: [hostileGroup] })).privilegeDifferences).toEqual([]);
    // The bystander, a member of every group here, kept every membership it had.
    expect(await slapdGroupsOf(slapd, bystander)).toEqual(before);

    const other = person('malformed');
    for (const groups of [
      [`cn=nul\0,${groupsOu}`],
      [`cn=a+cn=b,${groupsOu}`],
      [`cn=semi;colon,${groupsOu}`],
      [`cn=Admins,${groupsOu}`, `CN=admins,${groupsOu.toUpperCase()}`],
      [other],
      ['not a dn'],
      [42],
    ]) {
      const err = await thrown(ops.stage(other, secret('malformed'), { dn: other, groups }));
      expect(err.code, JSON.stringify(groups)).toBe('validation');
      expect(err.path ?? '', JSON.stringify(groups)).toMatch(/^spec\.groups/);
    }
    expect(await slapdRead(slapd, other, ['objectClass'])).toBeUndefined();
  });

  it('during a grant the account logs in and the directory reports it as a member', async () => {
    const dn = person('grant');
    const admins = await group('admins');
    const pw = secret('grant');
    await ops.stage(dn, pw, { dn, groups: [admins] });
    await ops.enable(dn, new Date(Date.now() + 600_000));
    const session = await slapdLogin(slapd, dn, pw);
    expect(session).not.toBe('rejected');
    if (session !== 'rejected') await session.close();
    expect(await slapdGroupsOf(slapd, dn)).toEqual([admins]);
    if (withMemberOf) expect((await slapdRead(slapd, dn, ['memberOf']))?.['memberOf']).toEqual(admins);
    await ops.disable(dn);
    expect(await slapdLogin(slapd, dn, pw)).toBe('rejected');
  });
});
