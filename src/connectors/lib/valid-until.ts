import { AppError } from '../../errors/index.js';

/**
 * The one check of an `enable`'s `validUntil` (the grant's expiry, carried to the target): a
 * real date, or a validation error that names the connector and the field.
 *
 * @example requireValidUntil('ldap', validUntil) // throws "ldap enable needs a valid validUntil date"
 */
export function requireValidUntil(connector: string, validUntil: unknown): asserts validUntil is Date {
  if (!(validUntil instanceof Date) || Number.isNaN(validUntil.getTime())) {
    throw new AppError('validation', `${connector} enable needs a valid validUntil date`, { path: 'validUntil' });
  }
}
