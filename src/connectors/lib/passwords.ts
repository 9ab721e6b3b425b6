/**
 * The one generator of the secrets connectors make up themselves (ephemeral credentials, LDAP's
 * throwaway lock probe). It is `generatePassword` of src/crypto, the generator whose output
 * pre-staged accounts already get: 32 characters of `A–Z a–z 0–9 - _` (192 bits), valid on every
 * target — ASCII, so PostgreSQL builds its SCRAM verifier locally; nothing MariaDB, Redis, LDAP
 * or a shell script would need to quote.
 */
import { generatePassword } from '../../crypto/index.js';

/** A fresh random secret for a credential a connector creates. */
export function newSecret(): string {
  return generatePassword();
}
