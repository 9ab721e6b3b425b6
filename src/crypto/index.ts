/**
 * The primitives the vault and the audit chain use (DESIGN.md §3, §4), all on node:crypto.
 * Internals under `lib/` are not exported.
 */
export { canonicalJson } from './canonical-json.js';
export { openWithRootKey, rewrapDataKey, sealWithRootKey } from './envelope.js';
export { createKeyFile, loadKeyFile } from './key-file.js';
export {
  generateSigningKeyPair,
  publicKeyFingerprint,
  publicKeyFromPrivate,
  signCanonical,
  verifyCanonical,
  type SigningKeyPair,
} from './signing.js';
export { constantTimeEqual, generateApiToken, generateEnrolmentCode, generatePassword, hashToken, newId } from './tokens.js';
export {
  genesisHash,
  hashEvent,
  linkEvent,
  signCheckpoint,
  verifyChain,
  verifyCheckpoint,
  // issue 13 (audit)
  canonicalEventText,
  hashCanonicalEvent,
  linkEvents,
  verifyChainPages,
  type StoredChainRow,
  type ChainEvent,
  type ChainRow,
  type ChainVerification,
  type Checkpoint,
} from './audit-chain.js';
export {
  bundleFormat,
  bundleVersion,
  serializeBundleHeader,
  serializeBundleLine,
  verifyBundle,
  verifyBundleFile,
  type BundleLine,
  type BundleSource,
  type VerifyBundleOptions,
} from './audit-bundle.js';
export {
  custodianKeyId,
  custodianPublicKey,
  generateCustodianKeyPair,
  kitBinding,
  openWithPrivateKey,
  sealToPublicKey,
  sealedKeyId,
  type CustodianKeyPair,
} from './custodian-seal.js';
export { combineCustodianShares, decodeShare, encodeShare, shareFingerprint, splitCustodianKey, type ShareEnvelope } from './custodian-shares.js';
