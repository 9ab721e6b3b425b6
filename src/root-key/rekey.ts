import { AppError } from '../errors/index.js';
import { replaceMaterial, withOpenDataDir, type RootKeyChangeOptions, type RootKeyChangeResult } from './change-root-key.js';
import { newSealId, type RootKeyDescriptor } from './descriptor.js';
import { describeSeal, resolveSealSpec, sealRootKey, type SealChoice } from './seal-root-key.js';

export interface RekeyOptions extends RootKeyChangeOptions {
  /** The new seal; by default the current kind with fresh secrets (new shares, new passphrase, new HSM key). */
  readonly seal?: SealChoice | undefined;
  /** The new passphrase (BREAKGLASS_NEW_PASSPHRASE or a prompt), when the new seal is a passphrase. */
  readonly newPassphrase?: (() => Promise<string>) | undefined;
}

/**
 * `breakglass operator rekey`: the SAME root key under a new seal, offline — new unseal shares
 * (old ones stop working), a new passphrase, a new HSM wrapping key, or another kind of seal
 * altogether (`--seal`, e.g. from the quick-start key file to a passphrase). The store's values
 * are untouched; the store records the new seal id, so stale copies of root-key.json on other
 * instances stop working too. Moving off `keyfile` deletes root.key, but a copy of it in a
 * backup still opens the store: follow with `rotate-root` if that matters.
 */
export async function rekeyRootKey(options: RekeyOptions): Promise<RootKeyChangeResult> {
  return withOpenDataDir(options, 'rekey', async (open) => {
    const current = open.material.descriptor;
    const choice = withCurrentDefaults(options.seal ?? { mode: open.material.mode }, current);
    if (choice.mode === 'keyfile' && open.material.mode === 'keyfile') {
      throw new AppError('validation', 'a key file has nothing to rekey: choose another seal with --seal, or use rotate-root for a new key');
    }
    const spec = await resolveSealSpec(choice, { passphrase: options.newPassphrase, pkcs11Pin: open.inputs.pkcs11Pin });
    const sealed = await sealRootKey(open.rootKey, spec, newSealId());
    await replaceMaterial(open, options, 'rekey', sealed, open.rootKey, async (tx) => {
      await open.audit.append(tx, {
        actor: open.actor,
        action: 'root-key.rekeyed',
        subject: 'root-key',
        details: {
          ...describeSeal(sealed.descriptor),
          previousMode: open.material.mode,
          previousSealId: current?.id ?? 'root.key',
          sealId: sealed.descriptor.id,
        },
      });
    });
    return {
      op: 'rekey',
      previousMode: open.material.mode,
      mode: sealed.descriptor.seal,
      sealId: sealed.descriptor.id,
      ...(sealed.unsealShares && { unsealShares: sealed.unsealShares }),
    };
  });
}

/** Unset share counts and HSM location default to the current seal's when it is of the same kind. */
function withCurrentDefaults(choice: SealChoice, current: RootKeyDescriptor | undefined): SealChoice {
  if (choice.mode === 'shamir' && current?.seal === 'shamir') {
    return { ...choice, unsealShares: choice.unsealShares ?? current.shares, unsealThreshold: choice.unsealThreshold ?? current.threshold };
  }
  if (choice.mode === 'pkcs11' && current?.seal === 'pkcs11') {
    return {
      ...choice,
      pkcs11Module: choice.pkcs11Module ?? current.module,
      pkcs11Token: choice.pkcs11Token ?? current.token,
      pkcs11KeyLabel: choice.pkcs11KeyLabel ?? current.keyLabel,
    };
  }
  return choice;
}
