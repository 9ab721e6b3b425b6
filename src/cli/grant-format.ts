/** Human views of a GrantView: one line in a table, a detail page, and what to do next. */
import type { GrantView } from '../api/index.js';
import { formatFields, formatTable, type Style } from './output.js';

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

export function grantTable(grants: readonly GrantView[], style: Style): string {
  return formatTable(
    ['ID', 'ACCOUNT', 'STATE', 'REQUESTER', 'INCIDENT', 'CREATED', 'EXPIRES'],
    grants.map((g) => [g.id, g.account, style.state(g.state), g.requester, g.incident, g.createdAt, g.expiresAt]),
    style,
  );
}

export function grantDetails(grant: GrantView, style: Style): string {
  const cert = grant.certification;
  return formatFields(
    [
      ['id', grant.id],
      ['account', grant.account],
      ['state', style.state(grant.state)],
      ['mode', grant.mode],
      ['requester', grant.requester],
      ['condition', grant.condition],
      ['incident', grant.incident],
      ['reason', grant.reason],
      ['created', grant.createdAt],
      ['activated', grant.activatedAt],
      ['expires', grant.expiresAt],
      // issue 11 (H2)
      ['extended', grant.extensions === undefined ? undefined : `${grant.extensions} time(s)`],
      ['override', grant.overrideReason === undefined ? undefined : style.red(`requireCertifiedPrevious overridden: ${grant.overrideReason}`)],
      ['ended', grant.endedAt === undefined ? undefined : `${grant.endedAt} (${grant.endReason ?? 'ended'})`],
      ['revealed', grant.revealedAt],
      ['revoked', grant.revokedAt],
      ['rotated', grant.rotatedAt],
      ['closed', grant.closedAt],
      ['certified', cert === undefined ? undefined : `by ${cert.by} at ${cert.at}`],
      [
        'answers',
        cert === undefined ? undefined : `necessary ${yesNo(cert.necessary)}, scoped ${yesNo(cert.scoped)}, removed ${yesNo(cert.removed)}`,
      ],
      ['note', cert?.note === '' ? undefined : cert?.note],
      ['failure', grant.failure === undefined ? undefined : style.red(grant.failure)],
      [
        'stuck',
        grant.stuck === undefined
          ? undefined
          : style.red(`${grant.stuck.step} failed ${grant.stuck.attempts} time(s), retrying at ${grant.stuck.nextAttemptAt}: ${grant.stuck.lastError}`),
      ],
    ],
    style,
  );
}

/** The commands that move this case forward from where it is. */
export function nextSteps(grant: GrantView): string[] {
  switch (grant.state) {
    case 'active':
      return grant.revealedAt === undefined
        ? [`breakglass reveal ${grant.id}   shows the credential, once`, `breakglass end ${grant.id}      ends the grant when you are done`]
        : [`breakglass end ${grant.id}   ends the grant when you are done`];
    case 'requested':
      return [`breakglass grant show ${grant.id}   waits for approval`];
    case 'revoking':
    case 'revoked':
    case 'rotating':
      return [`breakglass grant show ${grant.id}   revocation and rotation are under way`];
    case 'awaiting-certification':
      return [`breakglass certify ${grant.id} --necessary yes --scoped yes --removed yes --note "..."   (incident owner)`];
    default:
      return [];
  }
}

export function withNextSteps(text: string, grant: GrantView): string {
  const [first, ...rest] = nextSteps(grant);
  if (first === undefined) return text;
  return [text, '', `next: ${first}`, ...rest.map((line) => `      ${line}`)].join('\n');
}
