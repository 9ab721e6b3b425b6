/**
 * Drills on an SSH target (issue 10) against a private sshd that trusts the target's CA and
 * reads the KRL the connector maintains. The login step is a real `ssh` login with the
 * certificate issued for the drill (`tryLoginIssued`) to the target's `drillHost`, whose host key
 * is pinned; after the end the same certificate is refused because the KRL lists it. A host that
 * answers with another key gets no certificate used on it: the drill fails at login and says so.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { requireService } from '../support/integration.js';
import { sshdAvailable, startSshd, type Sshd } from '../support/sshd.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const check = await requireService('OpenSSH server and client (/usr/sbin/sshd, ssh, ssh-keyscan, ssh-keygen)', sshdAvailable);

interface Step {
  name: string;
  result: string;
  ms: number;
  detail?: string;
}

/** The host key sshd presents, read the way an operator would (ssh-keyscan), as `type base64`. */
async function hostKeyOf(port: number): Promise<string> {
  const { stdout } = await promisify(execFile)('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1'], { encoding: 'utf8', timeout: 10_000 });
  const line = stdout.split('\n').find((l) => / ssh-ed25519 /.test(l));
  if (line === undefined) throw new Error('ssh-keyscan found no ed25519 host key');
  return line.split(' ').slice(1, 3).join(' ');
}

/** Some other host's key: what a host answering in the real one's place would present. */
async function otherHostKey(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-otherhost-'));
  try {
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    return readFileSync(join(dir, 'key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(check.skip)('drills on an SSH target (private sshd trusting the CA, reading the KRL)', () => {
  let h: Harness;
  let sshd: Sshd;
  let krlPath: string;
  let user: string;
  const catalog = (drillHost?: Record<string, unknown>) => ({
    targets: [{ name: 'hosts', type: 'ssh', krlPath, ...(drillHost ? { drillHost } : {}) }],
    policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
    accounts: [{ name: 'ssh-root', target: 'hosts', mode: 'ephemeral', principals: [user], policy: 'p0' }],
  });
  const apply = async (drillHost?: Record<string, unknown>) => {
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog(drillHost));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  };
  const drill = async () => {
    const run = await h.call(h.adminToken, 'POST', '/v1/accounts/ssh-root/drill', {});
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    return run.body as { account: string; result: string; grant: string; steps: Step[] };
  };
  const settled = (grant: string) =>
    eventually(async () => (await h.call(h.adminToken, 'GET', `/v1/grants/${grant}`)).body.state === 'awaiting-certification', 30_000, 'the failed drill revoked');

  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite' });
    mkdirSync(join(h.dataDir, 'ssh'), { recursive: true, mode: 0o700 });
    krlPath = join(h.dataDir, 'ssh', 'hosts.krl');
    // The sshd needs the CA Breakglass makes at apply; the account needs the sshd's login user.
    user = process.getuid?.() === 0 ? 'bgssh' : userInfo().username;
    await apply();
    const ca = await h.call(h.adminToken, 'GET', '/v1/ssh/ca?target=hosts');
    expect(ca.status, JSON.stringify(ca.body)).toBe(200);
    sshd = await startSshd({ caPublicKey: ca.body.caPublicKey as string, krlPath });
    expect(sshd.user).toBe(user);
  });
  afterAll(async () => {
    await sshd?.stop();
    await h?.stop();
  });

  it('without a drillHost the drill fails at login and says what the target lacks', async () => {
    const body = await drill();
    expect(body.result).toBe('failed');
    expect(body.steps.find((s) => s.name === 'login')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/names no drillHost/) });
    await settled(body.grant);
  });

  it('a drill passes: a real ssh login with the drill\'s certificate, refused after the end (in the KRL)', async () => {
    await apply({ host: '127.0.0.1', port: sshd.port, hostKey: await hostKeyOf(sshd.port) });
    const body = await drill();
    expect(body, JSON.stringify(body)).toMatchObject({ account: 'ssh-root', result: 'passed' });
    expect(body.steps.map((s) => [s.name, s.result])).toEqual([
      ['invoke', 'passed'],
      ['login', 'passed'],
      ['expire', 'passed'],
      ['verify-revoked', 'passed'],
      ['rotate', 'skipped'],
      ['verify-rotated', 'skipped'],
    ]);
    // sshd's own account of it: the certificate (key id = grant id) logged in once, then was refused by the KRL.
    const log = sshd.log();
    const accepted = log.split('\n').filter((l) => /Accepted publickey for /.test(l) && l.includes(`ID ${body.grant} `));
    expect(accepted).toHaveLength(1);
    expect(log).toMatch(/ED25519-CERT \S+ revoked by file/);
    const grant = await h.call(h.adminToken, 'GET', `/v1/grants/${body.grant}`);
    expect(grant.body).toMatchObject({ drill: true, state: 'closed' });
  });

  it('a host answering with another host key is never logged in to: the drill fails at login and names the mismatch', async () => {
    await apply({ host: '127.0.0.1', port: sshd.port, hostKey: await otherHostKey() });
    const before = sshd.log().split('\n').filter((l) => /Accepted publickey for /.test(l)).length;
    const body = await drill();
    expect(body.result).toBe('failed');
    expect(body.steps.find((s) => s.name === 'login')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/host key of 127\.0\.0\.1:\d+ does not match drillHost\.hostKey/) });
    expect(sshd.log().split('\n').filter((l) => /Accepted publickey for /.test(l)).length).toBe(before);
    await settled(body.grant);
  });
});
