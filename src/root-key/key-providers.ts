import { loadKeyFile } from '../crypto/index.js';
import { rootKeyCheckMatches } from '../crypto/root-key-check.js';
import { openWithPassphrase } from '../crypto/root-key-passphrase.js';
import { AppError } from '../errors/index.js';
import type { KeyProvider } from '../ports/index.js';
import type { RootKeyDescriptor, RootKeyMaterial } from './descriptor.js';
import { materialFiles, materialPath } from './material-files.js';
import { createShareCollector } from './share-collector.js';

/** The `KeyProvider` of a data directory's root key material. */
export function keyProviderFor(dataDir: string, material: RootKeyMaterial): KeyProvider {
  const descriptor = material.descriptor;
  if (descriptor === undefined) return keyfileProvider(dataDir, undefined);
  switch (descriptor.seal) {
    case 'keyfile':
      return keyfileProvider(dataDir, descriptor);
    case 'passphrase':
      return {
        mode: 'passphrase',
        startsSealed: false,
        describe: { kdf: descriptor.kdf.alg, m: descriptor.kdf.m, t: descriptor.kdf.t, p: descriptor.kdf.p },
        async unseal(inputs) {
          const passphrase = await required(inputs.passphrase, 'this data directory is sealed with a passphrase: set BREAKGLASS_PASSPHRASE, or run on a terminal to be asked');
          return checked(await openWithPassphrase(descriptor, passphrase), descriptor);
        },
      };
    case 'shamir':
      return {
        mode: 'shamir',
        startsSealed: true,
        describe: { threshold: descriptor.threshold, shares: descriptor.shares },
        async unseal(inputs) {
          const texts = await required(
            inputs.shares === undefined ? undefined : () => inputs.shares!(descriptor.threshold),
            `this data directory is sealed with unseal shares: ${descriptor.threshold} of ${descriptor.shares} are needed`,
          );
          const collector = createShareCollector(descriptor);
          for (const text of texts) collector.add(text);
          return collector.combine();
        },
      };
    case 'pkcs11':
      return {
        mode: 'pkcs11',
        startsSealed: false,
        describe: { module: descriptor.module, token: descriptor.token, keyLabel: descriptor.keyLabel },
        async unseal(inputs) {
          const pin = await required(inputs.pkcs11Pin, 'this data directory is sealed with an HSM: set BREAKGLASS_PKCS11_PIN to the token user PIN');
          // Loaded on demand: the native PKCS#11 binding is needed only by HSM-sealed servers.
          const { hsmUnwrapRootKey } = await import('../crypto/root-key-pkcs11.js');
          return checked(hsmUnwrapRootKey(descriptor, pin, descriptor.wrapped), descriptor);
        },
      };
  }
}

function keyfileProvider(dataDir: string, descriptor: RootKeyDescriptor | undefined): KeyProvider {
  return {
    mode: 'keyfile',
    startsSealed: false,
    describe: {},
    unseal() {
      const key = loadKeyFile(materialPath(dataDir, materialFiles.keyFile));
      return Promise.resolve(descriptor === undefined ? key : checked(key, descriptor, 'root.key does not match root-key.json; restore both from the same backup'));
    },
  };
}

async function required<T>(source: (() => Promise<T>) | undefined, missing: string): Promise<T> {
  if (source === undefined) throw new AppError('validation', missing);
  return source();
}

/** Defence in depth: whatever opened the seal, the key must match the descriptor's check value. */
function checked(rootKey: Buffer, descriptor: RootKeyDescriptor, message = 'the unsealed root key does not match root-key.json'): Buffer {
  if (!rootKeyCheckMatches(rootKey, descriptor.check)) {
    rootKey.fill(0);
    throw new AppError('crypto', message);
  }
  return rootKey;
}
