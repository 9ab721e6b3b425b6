/**
 * SHA-512 crypt (`$6$salt$hash`, glibc's scheme, what `chpasswd -e` stores in /etc/shadow)
 * computed on the Breakglass side by `openssl passwd -6`, the secret on its stdin (never an
 * argument). The host never sees the secret: only its hash travels, inside the admin session.
 */
import { execFile } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors/index.js';

const SALT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** What `openssl passwd -6` prints: no `rounds=` (the default 5000), a 1–16 character salt. */
export const SHA512_CRYPT = /^\$6\$([./0-9A-Za-z]{1,16})\$[./0-9A-Za-z]{86}$/;

function newSalt(): string {
  return [...randomBytes(16)].map((byte) => SALT_ALPHABET[byte % 64]).join('');
}

/** A secret fit for one line of chpasswd's input and openssl's stdin. */
function checkSecret(secret: string): void {
  if (secret.length === 0 || secret.length > 1024 || /[\0\n\r]/.test(secret)) {
    throw new AppError('validation', 'unix: a secret must be 1 to 1024 characters on one line', { path: 'secret' });
  }
}

function openssl(salt: string, secret: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['passwd', '-6', '-salt', salt, '-stdin'],
      { timeout: 5000, killSignal: 'SIGKILL', encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (error, stdout) => {
        const hash = stdout.trim();
        if (error === null && SHA512_CRYPT.test(hash)) return resolve(hash);
        const errno = typeof error?.code === 'string' ? error.code : undefined;
        reject(new AppError('target_error', errno === 'ENOENT' ? 'unix: openssl is not installed on the Breakglass host' : 'unix: openssl could not hash the secret', { cause: { errno } }));
      },
    );
    child.stdin?.end(`${secret}\n`);
  });
}

/** A new SHA-512 crypt hash of `secret` with a fresh random salt. */
export async function hashSecret(secret: string): Promise<string> {
  checkSecret(secret);
  return openssl(newSalt(), secret);
}

/**
 * Does `secret` match the stored shadow hash? A locked hash (`!` prefixes) is compared on what
 * follows. A hash this connector did not write (yescrypt, `rounds=`) cannot be compared here:
 * `target_error`, never a guess. No hash (`*`, empty) matches nothing.
 */
export async function matchesHash(secret: string, stored: string): Promise<boolean> {
  checkSecret(secret);
  const hash = stored.replace(/^!+/, '');
  if (hash === '' || hash === '*' || hash === 'x') return false;
  const salt = SHA512_CRYPT.exec(hash)?.[1];
  if (salt === undefined) throw new AppError('target_error', 'unix verify: the stored hash is not one Breakglass wrote (SHA-512 crypt); rotate the account first');
  const candidate = Buffer.from(await openssl(salt, secret));
  const expected = Buffer.from(hash);
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}
