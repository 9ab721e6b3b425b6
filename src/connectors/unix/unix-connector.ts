/**
 * The unix connector: local accounts of one host, managed over SSH as a dedicated admin user
 * with `sudo` restricted to the commands of unix-scripts.ts. Pre-staged accounts are kept locked
 * and expired, enabled with `usermod -U` and a native expiry (`chage -E`), rotated with
 * `chpasswd -e` (SHA-512 crypt computed here), ended with `pkill -KILL -u`; ephemeral users are
 * created per grant with their groups and removed with `userdel -r`.
 * Invariants and import rules: ./README.md.
 */
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { AccountInspection, Connector, ConnectorCapabilities, ConnectorDriver, Credential, EphemeralOperations, PrestagedOperations, SessionsEnded, StageOptions, TargetConnection, VerifyResult } from '../../ports/index.js';
import { ephemeralPrincipal } from '../../ports/index.js';
import { newSecret } from '../lib/passwords.js';
import { parseSettings, parseTimeout } from '../lib/target-settings.js';
import { hashSecret, matchesHash } from './unix-crypt.js';
import { passwordLogin, runScript, type UnixHost } from './unix-remote.js';
import { disableScript, enableScript, EXPIRED_DAY, hashScript, inspectScript, issueScript, revokeScript, stageScript } from './unix-scripts.js';
import { HOST, HOST_KEY, POSIX_NAME, unixSpec } from './unix-spec.js';

const capabilities: ConnectorCapabilities = Object.freeze({
  supportsSessionKill: true,
  // chage -E counts whole days (UTC): a backstop the host enforces alone, not the grant's minute.
  supportsNativeExpiry: false,
  supportsPrestaged: true,
  supportsEphemeral: true,
});

const DAY_MS = 86_400_000;
/** Accounts outside these uids are the system's own (login.defs UID_MIN, UID_MAX; nobody is 65534). */
const UID_MIN = 1000;
const UID_MAX = 60000;
const PRIVATE_KEY = /^-----BEGIN (?:OPENSSH|RSA|EC) PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END (?:OPENSSH|RSA|EC) PRIVATE KEY-----\n?$/;
const GRANT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const PRESTAGED_GECOS = 'breakglass pre-staged';
const grantGecos = (grantId: string) => `breakglass grant ${grantId}`;

const settingsSchema = z.object({
  host: z.string().regex(HOST),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().regex(POSIX_NAME),
  hostKey: z.string().regex(HOST_KEY),
  privateKeyEnv: z.string().optional(),
}).strict();
const groupsSchema = z.array(z.string().regex(POSIX_NAME)).max(16).refine((g) => new Set(g).size === g.length, 'groups must be distinct');
const prestagedSpec = z.strictObject({ user: z.string().optional(), groups: groupsSchema.optional(), adopt: z.boolean().optional() });
const ephemeralSpec = z.strictObject({ groups: groupsSchema.optional() });

/** A local login name, allow-listed before it reaches a script; the message never repeats it. */
function checkName(user: unknown, what: string): string {
  if (typeof user !== 'string' || !POSIX_NAME.test(user)) {
    throw new AppError('validation', `unix ${what}: not a portable login name ([a-z_][a-z0-9_-]*, at most 32 characters)`, { path: 'user' });
  }
  return user;
}

function parseSpec<T>(schema: z.ZodType<T>, spec: unknown, what: string): T {
  const parsed = schema.safeParse(spec ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('validation', `unix ${what}: account spec ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`.trim(), { path: `spec.${issue?.path.join('.') ?? ''}` });
}

function checkGrantId(grantId: string): string {
  if (!GRANT_ID.test(grantId)) throw new AppError('validation', 'unix: the grant id is not a safe name', { path: 'grantId' });
  return grantId;
}

/** The shadow expiry day that lets a login through until `validUntil` (the first day not allowed). */
function expiryDay(validUntil: Date, what: string): number {
  const ms = validUntil.getTime();
  if (!Number.isFinite(ms) || ms <= Date.now()) throw new AppError('validation', `unix ${what}: validUntil must be in the future`, { path: 'validUntil' });
  return Math.ceil(ms / DAY_MS);
}

/** `BG key value` lines of a script's stdout. */
function fields(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^BG (\w+) ?(.*)$/.exec(line);
    if (match) out.set(match[1]!, match[2]!.trim());
  }
  return out;
}

const count = (value: string | undefined) => Math.max(0, Number.parseInt(value ?? '0', 10) || 0);

/**
 * What the script's endSessions counted on the host after the account was locked and expired:
 * the distinct session ids (`ps -o sid= -u`) of the user's processes before `pkill -KILL -u`,
 * and how many of them are gone after (sshd gives every connection its own session, so one
 * open SSH connection is one). An account that is not there had none.
 */
function sessionsEnded(out: Map<string, string>): SessionsEnded {
  const before = count(out.get('sessionsBefore'));
  return { sessionsBefore: before, sessionsEnded: Math.max(0, before - count(out.get('sessionsAfter'))) };
}

interface Seen {
  readonly inspection: AccountInspection;
  readonly uid: number | undefined;
  readonly gecos: string | undefined;
  /** Supplementary groups (the primary group left out), sorted. */
  readonly groups: readonly string[];
}

export function createUnixConnector(target: TargetConnection): Connector {
  const settings = parseSettings('unix', settingsSchema, target.settings);
  const privateKey = target.adminSecret;
  if (privateKey === undefined || !PRIVATE_KEY.test(privateKey.replace(/\r\n/g, '\n'))) {
    throw new AppError('validation', 'unix target needs its admin private key (privateKeyEnv): an unencrypted OpenSSH or PEM private key', { path: 'privateKeyEnv' });
  }
  const host: UnixHost = {
    host: settings.host,
    port: settings.port ?? 22,
    user: settings.user,
    hostKey: settings.hostKey,
    privateKey: privateKey.replace(/\r\n/g, '\n'),
    timeoutMs: parseTimeout('unix', target.timeoutMs),
  };
  const admin = host.user;

  /** Runs a script; a failed step is a target_error naming the step, never the host's output. */
  async function run(script: string, what: string): Promise<Map<string, string>> {
    const result = await runScript(host, script, what);
    const out = fields(result.stdout);
    if (result.code === 0) return out;
    const step = /^BGFAIL ([\w-]+)$/m.exec(result.stdout)?.[1];
    if (step === 'sessions') throw new AppError('target_unavailable', `unix ${what}: processes of the account are still alive after pkill -KILL`, { retryable: true });
    if (step === 'reserved') throw new AppError('validation', `unix ${what}: the login is a system account on the host (uid outside ${UID_MIN}–${UID_MAX}); it is never changed`, { path: 'user' });
    if (step === 'not-ours') throw new AppError('conflict', `unix ${what}: a local user of that name exists and was not created for this grant; it is left alone`);
    const hint = admin === 'root' ? '' : ' (is the sudoers line of the unix connector installed for the target user?)';
    throw new AppError('target_error', `unix ${what}: ${step === undefined ? `the script exited with ${result.code}` : `step ${step} failed`} on ${host.host}${hint}`);
  }

  async function look(user: string, what: string): Promise<Seen> {
    const out = await run(inspectScript(admin, user), what);
    if (out.get('exists') !== '1') return { inspection: { exists: false, canLogin: false, validUntil: undefined, sessions: 0 }, uid: undefined, gecos: undefined, groups: [] };
    const expire = Number.parseInt(out.get('expire') ?? '', 10);
    const today = Math.floor(Date.now() / DAY_MS);
    const notExpired = !Number.isFinite(expire) || expire < 0 || today < expire;
    const primary = out.get('primary') ?? '';
    return {
      inspection: {
        exists: true,
        canLogin: out.get('status') === 'P' && notExpired,
        validUntil: Number.isFinite(expire) && expire > EXPIRED_DAY ? new Date(expire * DAY_MS) : undefined,
        sessions: Number.parseInt(out.get('sessions') ?? '0', 10) || 0,
      },
      uid: Number.parseInt(out.get('uid') ?? '', 10),
      gecos: out.get('gecos'),
      groups: (out.get('groups') ?? '').split(/\s+/).filter((g) => g !== '' && g !== primary).sort(),
    };
  }

  /** The host's own accounts and the admin user are never break-glass accounts. */
  function checkReserved(user: string, seen: Seen | undefined, what: string): void {
    const why = unixSpec.reservedPrincipal?.(user, { user: admin }) ?? (seen?.uid !== undefined && (seen.uid < UID_MIN || seen.uid > UID_MAX) ? `a system account (uid outside ${UID_MIN}–${UID_MAX})` : undefined);
    if (why !== undefined) throw new AppError('validation', `unix ${what}: the login is reserved (${why}); choose another login for the break-glass account`, { path: 'user' });
  }

  function expectGroups(seen: Seen, groups: readonly string[] | undefined, what: string): void {
    if (groups === undefined) return;
    const want = [...groups].sort();
    if (want.join(',') !== seen.groups.join(',')) throw new AppError('target_error', `unix ${what}: the account's groups differ from the declared groups after staging`);
  }

  const prestaged: PrestagedOperations = {
    async stage(principal: string, secret: string, spec?: Readonly<Record<string, unknown>>, options?: StageOptions) {
      const user = checkName(principal, 'stage');
      const { groups } = parseSpec(prestagedSpec, spec, 'stage');
      checkReserved(user, undefined, 'stage');
      const hash = await hashSecret(secret);
      const before = await look(user, 'stage');
      checkReserved(user, before, 'stage');
      if (before.inspection.canLogin && options?.adopt !== true) {
        throw new AppError('conflict', `unix stage: the local user already exists and can log in; set adopt: true on the account to take it over (its password is replaced, it is locked and expired)`);
      }
      await run(stageScript(admin, user, hash, PRESTAGED_GECOS, groups, true), 'stage');
      const after = await look(user, 'stage');
      if (!after.inspection.exists || after.inspection.canLogin) throw new AppError('target_error', 'unix stage: the account is not in its disabled state after staging');
      expectGroups(after, groups, 'stage');
    },
    async enable(principal: string, validUntil: Date) {
      const user = checkName(principal, 'enable');
      checkReserved(user, undefined, 'enable');
      await run(enableScript(admin, user, expiryDay(validUntil, 'enable')), 'enable');
      if (!(await look(user, 'enable')).inspection.canLogin) throw new AppError('target_error', 'unix enable: the account still cannot log in after usermod -U');
    },
    async disable(principal: string): Promise<SessionsEnded> {
      const user = checkName(principal, 'disable');
      checkReserved(user, undefined, 'disable');
      const out = await run(disableScript(admin, user), 'disable');
      if (out.get('exists') === '0') return { sessionsBefore: 0, sessionsEnded: 0 };
      if (out.get('sessionsAfter') !== '0') throw new AppError('target_unavailable', 'unix disable: processes of the account are still alive after pkill -KILL', { retryable: true });
      return sessionsEnded(out);
    },
    async rotate(principal: string, newSecret: string) {
      const user = checkName(principal, 'rotate');
      checkReserved(user, undefined, 'rotate');
      const hash = await hashSecret(newSecret);
      await run(stageScript(admin, user, hash, PRESTAGED_GECOS, undefined, false), 'rotate');
    },
    async verify(credential: Credential): Promise<VerifyResult> {
      const user = checkName(credential.username, 'verify');
      const out = await run(hashScript(admin, user), 'verify');
      if (out.get('exists') === '0') return 'rejected';
      return (await matchesHash(credential.password, out.get('hash') ?? '')) ? 'accepted' : 'rejected';
    },
    async tryLogin(credential: Credential): Promise<VerifyResult> {
      const user = checkName(credential.username, 'login');
      return passwordLogin(host, user, credential.password, 'login');
    },
    async inspect(principal: string) {
      return (await look(checkName(principal, 'inspect'), 'inspect')).inspection;
    },
  };

  const ephemeral: EphemeralOperations = {
    async issue({ grantId, spec, validUntil }) {
      const user = checkName(ephemeralPrincipal(checkGrantId(grantId)), 'issue');
      const { groups = [] } = parseSpec(ephemeralSpec, spec, 'issue');
      const day = expiryDay(validUntil, 'issue');
      const password = newSecret();
      await run(issueScript(admin, user, await hashSecret(password), grantGecos(grantId), groups, day), 'issue');
      const seen = await look(user, 'issue');
      if (!seen.inspection.canLogin) throw new AppError('target_error', 'unix issue: the new user cannot log in after creation');
      expectGroups(seen, groups, 'issue');
      return { username: user, password };
    },
    async revoke({ grantId, spec }): Promise<SessionsEnded> {
      const user = checkName(ephemeralPrincipal(checkGrantId(grantId)), 'revoke');
      parseSpec(ephemeralSpec, spec, 'revoke');
      // A user already gone prints no counts: 0 and 0.
      return sessionsEnded(await run(revokeScript(admin, user, grantGecos(grantId)), 'revoke'));
    },
    async inspectIssued({ grantId, spec }) {
      const user = checkName(ephemeralPrincipal(checkGrantId(grantId)), 'inspect');
      parseSpec(ephemeralSpec, spec, 'inspect');
      return (await look(user, 'inspect')).inspection;
    },
    async tryLoginIssued({ grantId }, credential) {
      const user = checkName(ephemeralPrincipal(checkGrantId(grantId)), 'login');
      if (credential.username !== user || typeof credential['password'] !== 'string') throw new AppError('validation', 'unix login: the credential is not the one issued for this grant', { path: 'credential' });
      return passwordLogin(host, user, credential['password'], 'login');
    },
  };

  return {
    capabilities,
    prestaged,
    ephemeral,
    async close() {
      // Nothing pooled: every operation is one ssh connection.
    },
  };
}

export const unixDriver: ConnectorDriver = { create: createUnixConnector };
