import { isAbsolute } from 'node:path';
import { rootKeyCheck } from '../crypto/root-key-check.js';
import { sealWithPassphrase } from '../crypto/root-key-passphrase.js';
import { checkShareCounts, splitRootKey } from '../crypto/root-key-shares.js';
import type { HsmKeyRef, HsmLocation } from '../crypto/root-key-pkcs11.js';
import { AppError } from '../errors/index.js';
import type { SealMode } from '../ports/index.js';
import type { RootKeyDescriptor } from './descriptor.js';

/** What `init --seal` (and `operator rekey --seal`) asked for, before any secret is read. */
export interface SealChoice {
  readonly mode: SealMode;
  readonly unsealShares?: number | undefined;
  readonly unsealThreshold?: number | undefined;
  readonly pkcs11Module?: string | undefined;
  readonly pkcs11Token?: string | undefined;
  readonly pkcs11KeyLabel?: string | undefined;
}

/** A seal with everything it needs to be made. */
export type SealSpec =
  | { readonly mode: 'keyfile' }
  | { readonly mode: 'passphrase'; readonly passphrase: string }
  | { readonly mode: 'shamir'; readonly shares: number; readonly threshold: number }
  /** `key`: wrap with this existing HSM key (rotation) instead of generating one. */
  | { readonly mode: 'pkcs11'; readonly location: HsmLocation; readonly pin: string; readonly key?: HsmKeyRef };

export interface SealSecrets {
  /** The (new) passphrase to seal with. */
  readonly passphrase?: (() => Promise<string>) | undefined;
  readonly pkcs11Pin?: (() => Promise<string>) | undefined;
}

export interface SealedRootKey {
  readonly descriptor: RootKeyDescriptor;
  /** Unseal shares in text form, to be shown once (shamir). */
  readonly unsealShares?: readonly string[];
}

export const minPassphraseLength = 12;
export const defaultPkcs11KeyLabel = 'breakglass-root-wrap';
export const defaultShareCounts = { shares: 5, threshold: 3 } as const;

/**
 * Checks a choice and gathers its secrets. Nothing is created here, so a bad choice fails
 * before a data directory or an HSM key exists.
 */
export async function resolveSealSpec(choice: SealChoice, secrets: SealSecrets): Promise<SealSpec> {
  const sharesGiven = choice.unsealShares !== undefined || choice.unsealThreshold !== undefined;
  const hsmGiven = choice.pkcs11Module !== undefined || choice.pkcs11Token !== undefined || choice.pkcs11KeyLabel !== undefined;
  if (sharesGiven && choice.mode !== 'shamir') throw new AppError('validation', '--unseal-shares and --unseal-threshold go with --seal shamir', { path: 'seal' });
  if (hsmGiven && choice.mode !== 'pkcs11') throw new AppError('validation', '--pkcs11-* options go with --seal pkcs11', { path: 'seal' });
  switch (choice.mode) {
    case 'keyfile':
      return { mode: 'keyfile' };
    case 'passphrase': {
      if (secrets.passphrase === undefined) throw new AppError('validation', 'a passphrase seal needs a passphrase: set BREAKGLASS_PASSPHRASE or run on a terminal');
      const passphrase = await secrets.passphrase();
      if ([...passphrase].length < minPassphraseLength) {
        throw new AppError('validation', `the passphrase must have at least ${minPassphraseLength} characters`, { path: 'passphrase' });
      }
      return { mode: 'passphrase', passphrase };
    }
    case 'shamir': {
      const shares = choice.unsealShares ?? defaultShareCounts.shares;
      const threshold = choice.unsealThreshold ?? defaultShareCounts.threshold;
      checkShareCounts(shares, threshold);
      return { mode: 'shamir', shares, threshold };
    }
    case 'pkcs11': {
      const module = choice.pkcs11Module;
      const token = choice.pkcs11Token;
      if (module === undefined || !isAbsolute(module)) throw new AppError('validation', '--seal pkcs11 needs --pkcs11-module with the absolute path of the PKCS#11 module', { path: 'pkcs11Module' });
      if (token === undefined || token === '') throw new AppError('validation', '--seal pkcs11 needs --pkcs11-token with the token label', { path: 'pkcs11Token' });
      if (secrets.pkcs11Pin === undefined) throw new AppError('validation', '--seal pkcs11 needs the token user PIN in BREAKGLASS_PKCS11_PIN');
      const pin = await secrets.pkcs11Pin();
      return { mode: 'pkcs11', location: { module, token, keyLabel: choice.pkcs11KeyLabel ?? defaultPkcs11KeyLabel }, pin };
    }
  }
}

/**
 * Seals `rootKey` as `spec` says, under the sealing id `id`. For pkcs11 without `spec.key` this
 * generates the wrapping key inside the HSM.
 */
export async function sealRootKey(rootKey: Buffer, spec: SealSpec, id: string): Promise<SealedRootKey> {
  const base = { version: 1 as const, id, check: rootKeyCheck(rootKey) };
  switch (spec.mode) {
    case 'keyfile':
      return { descriptor: { ...base, seal: 'keyfile' } };
    case 'passphrase': {
      const { kdf, wrapped } = await sealWithPassphrase(rootKey, spec.passphrase);
      return { descriptor: { ...base, seal: 'passphrase', kdf, wrapped } };
    }
    case 'shamir': {
      const set = await splitRootKey(rootKey, spec.shares, spec.threshold);
      return {
        descriptor: { ...base, seal: 'shamir', threshold: set.threshold, shares: set.total, set: set.setId, fingerprints: [...set.fingerprints] },
        unsealShares: set.shares,
      };
    }
    case 'pkcs11': {
      const hsm = await import('../crypto/root-key-pkcs11.js');
      const key = spec.key ?? hsm.createHsmWrappingKey(spec.location, spec.pin);
      const wrapped = hsm.hsmWrapRootKey(key, spec.pin, rootKey);
      return { descriptor: { ...base, seal: 'pkcs11', module: key.module, token: key.token, keyLabel: key.keyLabel, keyId: key.keyId, wrapped } };
    }
  }
}

/** Non-secret facts about a seal, for audit events and command output. */
export function describeSeal(descriptor: RootKeyDescriptor): Record<string, string | number> {
  switch (descriptor.seal) {
    case 'keyfile':
      return { mode: 'keyfile' };
    case 'passphrase':
      return { mode: 'passphrase', kdf: descriptor.kdf.alg, m: descriptor.kdf.m, t: descriptor.kdf.t, p: descriptor.kdf.p };
    case 'shamir':
      return { mode: 'shamir', threshold: descriptor.threshold, shares: descriptor.shares, set: descriptor.set };
    case 'pkcs11':
      return { mode: 'pkcs11', token: descriptor.token, keyLabel: descriptor.keyLabel, keyId: descriptor.keyId };
  }
}
