import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import pkcs11js from 'pkcs11js';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';
import { assertRootKey, ROOT_KEY_BYTES } from './root-key-check.js';

/*
 * The PKCS#11 seal (DESIGN.md §3): an AES-256 key generated inside the HSM — sensitive,
 * non-extractable, usable only to encrypt and decrypt — wraps the root key with CKM_AES_GCM.
 * The root key must end up in process memory to open envelopes, so this is C_Encrypt /
 * C_Decrypt of its 32 bytes, not C_WrapKey; the wrapping key itself never leaves the token.
 * The key is found by label and CKA_ID, so another key that happens to share the label is
 * never used. Tested with SoftHSM2 2.6, which implements CKM_AES_GCM.
 */

const IV_BYTES = 12;
const TAG_BITS = 128;
const AAD = Buffer.from('breakglass/root-key/pkcs11/v1', 'utf8');

export interface HsmLocation {
  /** Absolute path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  /** Token label. */
  readonly token: string;
  /** CKA_LABEL of the wrapping key. */
  readonly keyLabel: string;
}

export interface HsmKeyRef extends HsmLocation {
  /** CKA_ID of the wrapping key, hex. */
  readonly keyId: string;
}

export interface HsmWrapped {
  readonly mechanism: 'CKM_AES_GCM';
  /** base64; `ct` is the ciphertext with the 16-byte tag appended, as PKCS#11 returns it. */
  readonly iv: string;
  readonly ct: string;
}

/** What the HSM says about the wrapping key (for tests and `init` output); never its value. */
export interface HsmKeyAttributes {
  readonly extractable: boolean;
  readonly sensitive: boolean;
  readonly neverExtractable: boolean;
  readonly local: boolean;
  /** True if the token refused to return CKA_VALUE (it must). */
  readonly valueHidden: boolean;
}

type Session = { readonly p11: pkcs11js.PKCS11; readonly session: Buffer; readonly slot: Buffer };

function p11Code(error: unknown): string {
  return error instanceof Error ? error.message.split(/[\s:]/)[0] ?? 'unknown' : 'unknown';
}

function hsmError(what: string, error: unknown): AppError {
  const code = p11Code(error);
  if (code === 'CKR_PIN_INCORRECT' || code === 'CKR_PIN_LEN_RANGE' || code === 'CKR_PIN_INVALID') {
    return new AppError('crypto', 'the HSM refused the PIN (BREAKGLASS_PKCS11_PIN); the root key stays sealed');
  }
  if (code === 'CKR_PIN_LOCKED') return new AppError('crypto', 'the HSM user PIN is locked; unlock it with the token\'s security officer');
  return new AppError('crypto', `${what} (${code})`);
}

/** Opens a logged-in read-write session on the token, runs `work`, and always cleans up. */
function withSession<T>(location: HsmLocation, pin: string, work: (s: Session) => T): T {
  if (!isAbsolute(location.module)) throw new AppError('validation', 'the PKCS#11 module must be an absolute path', { path: 'pkcs11Module' });
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(location.module);
  } catch (error) {
    throw new AppError('crypto', `cannot load the PKCS#11 module ${location.module} (${p11Code(error)})`);
  }
  try {
    p11.C_Initialize();
  } catch (error) {
    p11.close();
    throw hsmError(`cannot initialise the PKCS#11 module ${location.module}`, error);
  }
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === location.token);
    if (slot === undefined) throw new AppError('not_found', `no PKCS#11 token labelled "${location.token}" in ${location.module}`);
    let session: Buffer;
    try {
      session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    } catch (error) {
      throw hsmError(`cannot open a session on token "${location.token}"`, error);
    }
    try {
      try {
        p11.C_Login(session, pkcs11js.CKU_USER, pin);
      } catch (error) {
        if (p11Code(error) !== 'CKR_USER_ALREADY_LOGGED_IN') throw hsmError('cannot log in to the HSM', error);
      }
      return work({ p11, session, slot });
    } finally {
      try {
        p11.C_Logout(session);
      } catch {
        /* not logged in */
      }
      p11.C_CloseSession(session);
    }
  } finally {
    p11.C_Finalize();
    p11.close();
  }
}

function findKey({ p11, session }: Session, ref: HsmKeyRef): Buffer {
  const id = Buffer.from(ref.keyId, 'hex');
  p11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: ref.keyLabel },
    { type: pkcs11js.CKA_ID, value: id },
  ]);
  try {
    const handle = p11.C_FindObjects(session);
    if (!handle) throw new AppError('not_found', `no key labelled "${ref.keyLabel}" (id ${ref.keyId}) on token "${ref.token}"; was it deleted from the HSM?`);
    return handle;
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

function gcm(iv: Buffer) {
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad: AAD, ivBits: IV_BYTES * 8, tagBits: TAG_BITS } };
}

/**
 * Generates the AES-256 wrapping key inside the HSM (token object, private, sensitive,
 * non-extractable, encrypt/decrypt only) under a fresh random CKA_ID, and returns its reference.
 *
 * @example
 * const ref = createHsmWrappingKey({ module, token: 'breakglass', keyLabel: 'breakglass-root-wrap' }, pin);
 */
export function createHsmWrappingKey(location: HsmLocation, pin: string): HsmKeyRef {
  return withSession(location, pin, ({ p11, session, slot }) => {
    if (!p11.C_GetMechanismList(slot).includes(pkcs11js.CKM_AES_GCM)) {
      throw new AppError('crypto', `token "${location.token}" does not offer CKM_AES_GCM; Breakglass needs it to wrap the root key`);
    }
    const keyId = randomBytes(16);
    try {
      p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_MODIFIABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
        { type: pkcs11js.CKA_SIGN, value: false },
        { type: pkcs11js.CKA_VERIFY, value: false },
        { type: pkcs11js.CKA_DERIVE, value: false },
        { type: pkcs11js.CKA_LABEL, value: location.keyLabel },
        { type: pkcs11js.CKA_ID, value: keyId },
      ]);
    } catch (error) {
      throw hsmError(`the HSM could not generate the wrapping key "${location.keyLabel}"`, error);
    }
    return { ...location, keyId: keyId.toString('hex') };
  });
}

/** Encrypts the root key with the HSM key (CKM_AES_GCM, fresh 96-bit IV). */
export function hsmWrapRootKey(ref: HsmKeyRef, pin: string, rootKey: Buffer): HsmWrapped {
  assertRootKey(rootKey);
  return withSession(ref, pin, (s) => {
    const key = findKey(s, ref);
    const iv = randomBytes(IV_BYTES);
    try {
      s.p11.C_EncryptInit(s.session, gcm(iv), key);
      const ct = s.p11.C_Encrypt(s.session, rootKey, Buffer.alloc(ROOT_KEY_BYTES + TAG_BITS / 8 + 16));
      return { mechanism: 'CKM_AES_GCM', iv: iv.toString('base64'), ct: Buffer.from(ct).toString('base64') };
    } catch (error) {
      throw hsmError('the HSM could not wrap the root key', error);
    }
  });
}

/** Decrypts the root key with the HSM key; an altered blob or another key is refused. */
export function hsmUnwrapRootKey(ref: HsmKeyRef, pin: string, wrapped: HsmWrapped): Buffer {
  const iv = decodeBase64Strict(wrapped.iv);
  const ct = decodeBase64Strict(wrapped.ct);
  if (wrapped.mechanism !== 'CKM_AES_GCM' || iv?.length !== IV_BYTES || ct?.length !== ROOT_KEY_BYTES + TAG_BITS / 8) {
    throw new AppError('crypto', 'the HSM-wrapped root key in root-key.json is malformed; restore the file from backup');
  }
  return withSession(ref, pin, (s) => {
    const key = findKey(s, ref);
    const out = Buffer.alloc(ct.length);
    let plain: Buffer;
    try {
      s.p11.C_DecryptInit(s.session, gcm(iv), key);
      plain = s.p11.C_Decrypt(s.session, ct, out);
    } catch {
      out.fill(0);
      throw new AppError('crypto', `the HSM key "${ref.keyLabel}" does not open the wrapped root key (altered root-key.json, or another key)`);
    }
    const rootKey = Buffer.from(plain);
    out.fill(0);
    if (rootKey.length !== ROOT_KEY_BYTES) {
      rootKey.fill(0);
      throw new AppError('crypto', 'the HSM returned a root key of the wrong length');
    }
    return rootKey;
  });
}

/** Reads the protection attributes of the wrapping key, and checks that its value is hidden. */
export function hsmKeyAttributes(ref: HsmKeyRef, pin: string): HsmKeyAttributes {
  return withSession(ref, pin, (s) => {
    const key = findKey(s, ref);
    const [extractable, sensitive, neverExtractable, local] = s.p11
      .C_GetAttributeValue(s.session, key, [
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
        { type: pkcs11js.CKA_LOCAL },
      ])
      .map((attribute) => Buffer.isBuffer(attribute.value) && attribute.value[0] === 1);
    let valueHidden = false;
    try {
      s.p11.C_GetAttributeValue(s.session, key, [{ type: pkcs11js.CKA_VALUE }]);
    } catch (error) {
      valueHidden = p11Code(error) === 'CKR_ATTRIBUTE_SENSITIVE';
    }
    return { extractable: extractable ?? true, sensitive: sensitive ?? false, neverExtractable: neverExtractable ?? false, local: local ?? false, valueHidden };
  });
}
