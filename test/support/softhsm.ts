/**
 * A private SoftHSM2 token for tests: a temp `SOFTHSM2_CONF` and token directory, and a token
 * initialised with `softhsm2-util --init-token --free`. Nothing touches the system's tokens.
 *
 * SoftHSM2 reads SOFTHSM2_CONF when the module is initialised (C_Initialize), so the tests set
 * it in process.env (in-process servers) or pass `env` to child processes.
 *
 * @example
 *   const hsm = await requireService('SoftHSM2', softHsmAvailable);
 *   describe.skipIf(hsm.skip)('pkcs11 seal', () => {
 *     let token: SoftHsmToken;
 *     beforeAll(() => { token = createSoftHsmToken('bg-test'); });
 *     afterAll(() => token?.remove());
 *   });
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const softHsmModule = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  readonly module: string;
  readonly label: string;
  /** User PIN (BREAKGLASS_PKCS11_PIN). */
  readonly pin: string;
  readonly soPin: string;
  /** The SOFTHSM2_CONF value for this token. */
  readonly conf: string;
  /** Environment for child processes. */
  readonly env: Record<string, string>;
  remove(): void;
}

export function softHsmAvailable(): boolean {
  if (!existsSync(softHsmModule)) return false;
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Creates a fresh token in its own directory and points process.env.SOFTHSM2_CONF at it. */
export function createSoftHsmToken(label = `bg-${randomBytes(3).toString('hex')}`): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'bg-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pin = randomBytes(6).toString('hex');
  const soPin = randomBytes(6).toString('hex');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'ignore',
  });
  process.env['SOFTHSM2_CONF'] = conf;
  return {
    module: softHsmModule,
    label,
    pin,
    soPin,
    conf,
    env: { SOFTHSM2_CONF: conf },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
