/**
 * The POSIX sh scripts the unix connector runs on the host as its admin user, one per
 * operation, built from names unix-names.ts has already allow-listed (`[a-z_][a-z0-9_-]*`: they
 * are single-quoted and can never close the quote) and SHA-512 crypt hashes (`[$./0-9A-Za-z]`,
 * inside a quoted here-document: never expanded, never on a command line the process list shows).
 * Every privileged command goes through `sudo -n` (never a password prompt) unless the admin user
 * is root; the sudoers line in ./README.md lists exactly these commands.
 *
 * Output protocol: lines `BG <key> <value>` on stdout; a failed step prints `BGFAIL <step>` and
 * exits 3. Nothing else the host prints is read.
 */

/** The shadow expiry that means "expired" (1970-01-02: day 0 is read as "never" by some tools). */
export const EXPIRED_DAY = 1;

const q = (name: string) => `'${name}'`;

function prelude(admin: string): string {
  return [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; LC_ALL=C; export LC_ALL',
    `S='${admin === 'root' ? '' : 'sudo -n'}'`,
    'fail() { echo "BGFAIL $1"; exit 3; }',
    'sessions() { ps -o sid= -u "$1" 2>/dev/null | sort -u | wc -l | tr -d " "; }',
  ].join('\n');
}

const exists = (user: string) => `getent passwd ${q(user)} >/dev/null 2>&1`;

/** System accounts (uid outside 1000–60000: root, daemon, nobody…) are never changed, checked on the host itself. */
const guard = (user: string) => `u=$(id -u ${q(user)}) && [ "$u" -ge 1000 ] && [ "$u" -le 60000 ] || fail reserved`;

/** Kills every process of the account until none is left (bounded); prints before/after counts. */
function endSessions(user: string): string {
  return [
    `n=$(sessions ${q(user)}); echo "BG sessionsBefore $n"`,
    'i=0; k=0',
    `while [ "$n" -gt 0 ] && [ "$i" -lt 40 ]; do $S pkill -KILL -u ${q(user)} </dev/null && k=1; sleep 0.05; n=$(sessions ${q(user)}); i=$((i+1)); done`,
    'echo "BG killed $k"; echo "BG sessionsAfter $n"',
  ].join('\n');
}

/** Writes `user:hash` with chpasswd -e from a here-document (the script travels on ssh's stdin: the hash is on no command line). */
function setHash(user: string, hash: string): string {
  return [`$S chpasswd -e <<'BGEOF' || fail chpasswd`, `${user}:${hash}`, 'BGEOF'].join('\n');
}

/** What inspect reads: existence, uid, GECOS, passwd -S status, shadow expiry, sessions, groups. */
export function inspectScript(admin: string, user: string): string {
  return [
    prelude(admin),
    `if ! ${exists(user)}; then echo "BG exists 0"; exit 0; fi`,
    'echo "BG exists 1"',
    `echo "BG uid $(id -u ${q(user)})"`,
    `echo "BG gecos $(getent passwd ${q(user)} | cut -d: -f5)"`,
    `st=$($S passwd -S ${q(user)} </dev/null 2>/dev/null) || fail passwd-status`,
    'echo "BG status $(echo "$st" | cut -d" " -f2)"',
    `sh=$($S getent shadow ${q(user)} </dev/null) || fail shadow`,
    'echo "BG expire $(echo "$sh" | cut -d: -f8)"',
    `echo "BG sessions $(sessions ${q(user)})"`,
    `echo "BG primary $(id -gn ${q(user)})"`,
    `echo "BG groups $(id -Gn ${q(user)})"`,
  ].join('\n');
}

/** The stored hash (to compare a candidate secret locally). */
export function hashScript(admin: string, user: string): string {
  return [
    prelude(admin),
    `if ! ${exists(user)}; then echo "BG exists 0"; exit 0; fi`,
    `sh=$($S getent shadow ${q(user)} </dev/null) || fail shadow`,
    'echo "BG hash $(echo "$sh" | cut -d: -f2)"',
  ].join('\n');
}

/**
 * The disabled state with a new secret: created when missing (with `gecos`), expired
 * (`chage -E`), the locked hash written, locked again (`usermod -L`), supplementary groups set to
 * exactly `groups` when given, every process killed.
 */
export function stageScript(admin: string, user: string, hash: string, gecos: string, groups: readonly string[] | undefined, create: boolean): string {
  return [
    prelude(admin),
    create
      ? `if ! ${exists(user)}; then $S useradd -m -s /bin/sh -c ${q(gecos)} ${q(user)} </dev/null >/dev/null || fail useradd; fi`
      : `${exists(user)} || fail missing`,
    guard(user),
    `$S chage -E ${EXPIRED_DAY} ${q(user)} </dev/null || fail chage`,
    setHash(user, `!${hash}`),
    `$S usermod -L ${q(user)} </dev/null >/dev/null 2>&1 || fail usermod-lock`,
    ...(groups === undefined ? [] : [`$S usermod -G ${q(groups.join(','))} ${q(user)} </dev/null || fail usermod-groups`]),
    endSessions(user),
  ].join('\n');
}

/** Native expiry first (the day after `expireDay - 1` ends), then the unlock. */
export function enableScript(admin: string, user: string, expireDay: number): string {
  return [
    prelude(admin),
    `${exists(user)} || fail missing`,
    guard(user),
    `$S chage -E ${expireDay} ${q(user)} </dev/null || fail chage`,
    `$S usermod -U ${q(user)} </dev/null >/dev/null 2>&1 || fail usermod-unlock`,
  ].join('\n');
}

/** Locked, expired, every process killed; an account that is not there is already disabled. */
export function disableScript(admin: string, user: string): string {
  return [
    prelude(admin),
    `if ! ${exists(user)}; then echo "BG exists 0"; exit 0; fi`,
    guard(user),
    `$S usermod -L ${q(user)} </dev/null >/dev/null 2>&1 || fail usermod-lock`,
    `$S chage -E ${EXPIRED_DAY} ${q(user)} </dev/null || fail chage`,
    endSessions(user),
  ].join('\n');
}

/**
 * A grant's own user: created (or, on a retry, its sessions ended and its secret replaced),
 * expiring natively at `expireDay`, member of exactly `groups`. A user of that name that is not
 * this grant's (another GECOS) is never touched.
 */
export function issueScript(admin: string, user: string, hash: string, gecos: string, groups: readonly string[], expireDay: number): string {
  return [
    prelude(admin),
    `if ${exists(user)}; then`,
    `  [ "$(getent passwd ${q(user)} | cut -d: -f5)" = ${q(gecos)} ] || fail not-ours`,
    `  ${guard(user)}`,
    `  $S usermod -L ${q(user)} </dev/null >/dev/null 2>&1 || fail usermod-lock`,
    endSessions(user),
    'else',
    `  $S useradd -m -s /bin/sh -c ${q(gecos)} ${q(user)} </dev/null >/dev/null || fail useradd`,
    'fi',
    `$S chage -E ${expireDay} ${q(user)} </dev/null || fail chage`,
    `$S usermod -G ${q(groups.join(','))} ${q(user)} </dev/null || fail usermod-groups`,
    setHash(user, hash),
  ].join('\n');
}

/** Locks, kills every process, then `userdel -r`; only a user with this grant's GECOS. */
export function revokeScript(admin: string, user: string, gecos: string): string {
  return [
    prelude(admin),
    `if ! ${exists(user)}; then echo "BG exists 0"; exit 0; fi`,
    `[ "$(getent passwd ${q(user)} | cut -d: -f5)" = ${q(gecos)} ] || fail not-ours`,
    guard(user),
    `$S usermod -L ${q(user)} </dev/null >/dev/null 2>&1 || fail usermod-lock`,
    `$S chage -E ${EXPIRED_DAY} ${q(user)} </dev/null || fail chage`,
    endSessions(user),
    '[ "$n" -eq 0 ] || fail sessions',
    `$S userdel -r ${q(user)} </dev/null >/dev/null 2>&1`,
    `if ${exists(user)}; then fail userdel; fi`,
    'echo "BG exists 0"',
  ].join('\n');
}
