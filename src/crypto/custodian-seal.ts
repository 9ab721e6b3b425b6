import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';

/*
 * Sealing to a public key (DESIGN.md §3): an ephemeral X25519 key agrees a secret with the
 * recipient's key, HKDF-SHA256 derives an AES-256-GCM key from it, and GCM authenticates the
 * caller's associated data. The server holds only the public key of a dual-control account, so
 * it can seal every rotated secret, but opening needs the private key, which exists only as
 * Shamir shares held by the custodians (custodian-shares.ts).
 */

const ALG = 'X25519-HKDF-SHA256-A256GCM';
const INFO = 'breakglass/custodian-seal/v1';
// The DER prefixes of X25519 keys: SPKI for public, PKCS#8 for private (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface CustodianKeyPair {
  /** Raw 32-byte X25519 public key, base64url. */
  readonly publicKey: string;
  /** Raw 32-byte X25519 private key. Split into shares at the ceremony, then wiped. */
  readonly privateKey: Buffer;
}

export function generateCustodianKeyPair(): CustodianKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublic(publicKey).toString('base64url'), privateKey: rawPrivate(privateKey) };
}

/** The public key of a raw X25519 private key (to check that shares rebuilt the right key). */
export function custodianPublicKey(privateKey: Buffer): string {
  return rawPublic(createPublicKey(privateKeyObject(privateKey))).toString('base64url');
}

/** A short, stable id of a public key: which ceremony a share or a sealed file belongs to. */
export function custodianKeyId(publicKey: string): string {
  return createHash('sha256').update(publicKey).digest('base64url').slice(0, 16);
}

export function sealToPublicKey(publicKey: string, plaintext: string | Buffer, aad: string): string {
  const recipient = publicKeyObject(publicKey);
  const ephemeral = generateKeyPairSync('x25519');
  const epk = rawPublic(ephemeral.publicKey);
  const key = deriveKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }), epk, rawPublic(recipient), aad);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  key.fill(0);
  return JSON.stringify({ v: 1, alg: ALG, kid: custodianKeyId(publicKey), epk: epk.toString('base64url'), iv: iv.toString('base64url'), ct: ct.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') });
}

/** Opens a value sealed to the public key of `privateKey`. One vague error for every failure. */
export function openWithPrivateKey(privateKey: Buffer, sealed: string, aad: string): Buffer {
  const fail = () => new AppError('crypto', 'cannot open sealed value');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(sealed) as Record<string, unknown>;
  } catch {
    throw fail();
  }
  const field = (name: string) => (typeof parsed[name] === 'string' ? decodeBase64Strict(parsed[name], 'base64url') : undefined);
  const [epk, iv, ct, tag] = [field('epk'), field('iv'), field('ct'), field('tag')];
  if (parsed['v'] !== 1 || parsed['alg'] !== ALG || !epk || epk.length !== 32 || !iv || iv.length !== 12 || !ct || !tag || tag.length !== 16) throw fail();
  try {
    const own = privateKeyObject(privateKey);
    const key = deriveKey(diffieHellman({ privateKey: own, publicKey: publicKeyObject(epk.toString('base64url')) }), epk, rawPublic(createPublicKey(own)), aad);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(ct), decipher.final()]);
    key.fill(0);
    return plaintext;
  } catch {
    throw fail();
  }
}

/** The key id a sealed value was sealed to, without opening it. */
export function sealedKeyId(sealed: string): string | undefined {
  try {
    const kid = (JSON.parse(sealed) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

function deriveKey(shared: Buffer, epk: Buffer, recipient: Buffer, aad: string): Buffer {
  // Both public keys and the associated data go into the derivation: a sealed value bound to
  // one account and row cannot be replayed for another.
  const salt = Buffer.concat([epk, recipient]);
  const key = Buffer.from(hkdfSync('sha256', shared, salt, Buffer.from(`${INFO}\0${aad}`, 'utf8'), 32));
  shared.fill(0);
  return key;
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' }).subarray(SPKI_PREFIX.length);
}

function rawPrivate(key: KeyObject): Buffer {
  return key.export({ type: 'pkcs8', format: 'der' }).subarray(PKCS8_PREFIX.length);
}

function publicKeyObject(publicKey: string): KeyObject {
  const raw = decodeBase64Strict(publicKey, 'base64url');
  if (!raw || raw.length !== 32) throw new AppError('crypto', 'not an X25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(privateKey: Buffer): KeyObject {
  if (privateKey.length !== 32) throw new AppError('crypto', 'not an X25519 private key');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
}

/**
 * What a custodian-sealed secret is for — account, login and target — bound into its associated
 * data, so an offline kit whose displayed target was altered does not open (nobody types the
 * real password into a host an attacker chose).
 */
export function kitBinding(binding: { account: string; username: string; target: { type: string; host?: string | undefined; port?: number | undefined } }): string {
  const { type, host, port } = binding.target;
  return `|kit:${JSON.stringify({ account: binding.account, username: binding.username, type, host: host ?? null, port: port ?? null })}`;
}
