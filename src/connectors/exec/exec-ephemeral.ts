/**
 * Ephemeral credentials through a script: the script gets the grant id and the login name
 * Breakglass uses everywhere (`ephemeralPrincipal`), and answers with the credential.
 */
import { ephemeralPrincipal, type AccountSpec, type EphemeralOperations } from '../../ports/index.js';
import { inspection, sessionsEnded, type Call } from './exec-admin.js';
import { checkDate, checkGrantId, checkSpec } from './exec-names.js';

export function execEphemeral(call: Call): EphemeralOperations {
  // The script gets the login name Breakglass uses everywhere, plus the grant id to derive others.
  const fields = (grantId: string, spec: AccountSpec) => {
    const id = checkGrantId(grantId);
    return { grantId: id, principal: ephemeralPrincipal(id), spec: checkSpec(spec) };
  };
  return {
    async issue(request) {
      const answer = await call('issue', { ...fields(request.grantId, request.spec), validUntil: checkDate(request.validUntil) });
      return answer.credential;
    },
    async revoke(request) {
      return sessionsEnded(await call('revoke', fields(request.grantId, request.spec)));
    },
    async inspectIssued(request) {
      return inspection(await call('inspectIssued', fields(request.grantId, request.spec)));
    },
  };
}

