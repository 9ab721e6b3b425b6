/**
 * Pre-staged accounts through a script: each operation is one call of the protocol, with its
 * input checked first (exec-names.ts).
 */
import type { PrestagedOperations } from '../../ports/index.js';
import { inspection, sessionsEnded, type Call } from './exec-admin.js';
import { checkDate, checkPrincipal, checkSecret, checkSpec } from './exec-names.js';

export function execPrestaged(call: Call): PrestagedOperations {
  return {
    async stage(principal, secret, spec, options) {
      // The script owns the target's rules; it is told whether taking over an existing login is allowed.
      const adopt = options?.adopt ?? false;
      await call('stage', { principal: checkPrincipal(principal), secret: checkSecret(secret, 'secret'), spec: checkSpec(spec ?? {}), adopt });
    },
    async enable(principal, validUntil) {
      await call('enable', { principal: checkPrincipal(principal), validUntil: checkDate(validUntil) });
    },
    async disable(principal) {
      return sessionsEnded(await call('disable', { principal: checkPrincipal(principal) }));
    },
    async rotate(principal, newSecret) {
      await call('rotate', { principal: checkPrincipal(principal), newSecret: checkSecret(newSecret, 'newSecret') });
    },
    async verify(credential) {
      const principal = checkPrincipal(credential.username);
      // No account is ever given an empty secret, so an empty one cannot be right.
      if (typeof credential.password !== 'string' || credential.password === '') return 'rejected';
      const answer = await call('verify', { principal, secret: checkSecret(credential.password, 'secret') });
      return answer.result;
    },
    async inspect(principal) {
      return inspection(await call('inspect', { principal: checkPrincipal(principal) }));
    },
  };
}

