import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { AppError } from '../errors/index.js';
import type { SealMode } from '../ports/index.js';
import { materialFiles, materialPath, readTextIfExists } from './material-files.js';

/**
 * `root-key.json`: how this data directory's root key is sealed. It never holds a secret: a
 * wrapped key, KDF parameters, share fingerprints, an HSM key reference, the key check value.
 * `id` names this sealing; the store records the id of the current one, so an instance with
 * stale material (another instance rekeyed or rotated) refuses to start instead of diverging.
 */

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const base = { version: z.literal(1), id: b64url.min(16).max(64), check: b64url.length(43) };

const keyfileSchema = z.strictObject({ ...base, seal: z.literal('keyfile') });

const passphraseSchema = z.strictObject({
  ...base,
  seal: z.literal('passphrase'),
  kdf: z.strictObject({ alg: z.literal('argon2id'), m: z.number().int(), t: z.number().int(), p: z.number().int(), salt: b64 }),
  wrapped: z.strictObject({ iv: b64, ct: b64, tag: b64 }),
});

const shamirSchema = z
  .strictObject({
    ...base,
    seal: z.literal('shamir'),
    threshold: z.number().int().min(2).max(255),
    shares: z.number().int().min(2).max(255),
    /** Id of the split; every share of it carries it. */
    set: b64url,
    /** One-way fingerprints of the shares; a share itself is never stored. */
    fingerprints: z.array(b64url),
  })
  .refine((d) => d.threshold <= d.shares && d.fingerprints.length === d.shares, 'threshold, shares and fingerprints disagree');

const pkcs11Schema = z.strictObject({
  ...base,
  seal: z.literal('pkcs11'),
  module: z.string().startsWith('/'),
  token: z.string().min(1),
  keyLabel: z.string().min(1),
  keyId: z.string().regex(/^[0-9a-f]{2,128}$/),
  wrapped: z.strictObject({ mechanism: z.literal('CKM_AES_GCM'), iv: b64, ct: b64 }),
});

export const descriptorSchema = z.discriminatedUnion('seal', [keyfileSchema, passphraseSchema, shamirSchema, pkcs11Schema]);

export type RootKeyDescriptor = z.infer<typeof descriptorSchema>;
export type ShamirDescriptor = z.infer<typeof shamirSchema>;
export type PassphraseDescriptor = z.infer<typeof passphraseSchema>;
export type Pkcs11Descriptor = z.infer<typeof pkcs11Schema>;

/**
 * The root key material of a data dir: its descriptor, or — for a data dir initialised before
 * seals existed — just `root.key` (a keyfile seal without id or check).
 */
export type RootKeyMaterial = { readonly mode: SealMode; readonly descriptor: RootKeyDescriptor } | { readonly mode: 'keyfile'; readonly descriptor: undefined };

export function newSealId(): string {
  return randomBytes(16).toString('base64url');
}

export function parseDescriptor(text: string, where: string): RootKeyDescriptor {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('integrity', `${where} is not JSON; restore it from backup`);
  }
  const parsed = descriptorSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('integrity', `${where} is not a valid root key descriptor (${issue?.path.join('.') || 'root'}: ${issue?.message ?? 'invalid'}); restore it from backup`);
  }
  return parsed.data;
}

export function serializeDescriptor(descriptor: RootKeyDescriptor): string {
  return `${JSON.stringify(descriptor, null, 2)}\n`;
}

/** Reads the material of an initialised data dir (call `recoverRootKeyChange` first). */
export function readRootKeyMaterial(dataDir: string): RootKeyMaterial {
  const text = readTextIfExists(dataDir, materialFiles.descriptor);
  if (text !== undefined) {
    const descriptor = parseDescriptor(text, materialPath(dataDir, materialFiles.descriptor));
    return { mode: descriptor.seal, descriptor };
  }
  if (existsSync(materialPath(dataDir, materialFiles.keyFile))) return { mode: 'keyfile', descriptor: undefined };
  throw new AppError('not_found', `${dataDir} has no root key material (root-key.json or root.key); is --data-dir right?`);
}
