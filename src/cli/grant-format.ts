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
      // issue 12 (P2)
      ['sessions', grant.revocation === undefined ? undefined : `${grant.revocation.sessionsBefore} live at revocation, ${grant.revocation.sessionsEnded} ended, ${grant.revocation.sessionsAfter} left`],
      ['rotated', grant.rotatedAt],
      ['closed', grant.closedAt],
      ['certified', cert === undefined ? undefined : `by ${cert.by} at ${cert.at}`],
      [
        'answers',
        cert === undefined ? undefined : `necessary ${yesNo(cert.necessary)}, scoped ${yesNo(cert.scoped)}, removed ${yesNo(cert.removed)}`,
      ],
      ['note', cert?.note === '' ? undefined : cert?.note],
      // issue 11 (H3)
      ['misuse', cert?.misuseSuspected === true ? style.red('suspected: under review until an admin resolves it') : undefined],
      ['overdue', grant.certificationOverdueAt === undefined ? undefined : style.yellow(`certification deadline passed at ${grant.certificationOverdueAt}`)],
      ['resolved', grant.resolution === undefined ? undefined : `by ${grant.resolution.by} at ${grant.resolution.at}: ${grant.resolution.note}`],
      ['failure', grant.failure === undefined ? undefined : style.red(grant.failure)],
      // issue 11 (H1)
      ['approvals', grant.approvals === undefined ? undefined : grant.approvals.map((a) => `${a.decision} by ${a.by} at ${a.at}: ${a.note}`).join('; ')],
      ['escalated', grant.escalated === true ? style.red(`yes: ${grant.escalationReason ?? ''}`) : undefined],
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
    // issue 11 (H1)
    case 'awaiting-approval':
      return [
        `breakglass approve ${grant.id} --note "..."   (an approver the policy names)`,
        `breakglass invoke ${grant.account} … --escalate --reason2 "..."   (you, if nobody answers within the policy's escalate.after)`,
      ];
    case 'awaiting-certification':
      return [`breakglass certify ${grant.id} --necessary yes --scoped yes --removed yes --note "..."   (incident owner)`];
    // issue 11 (H3)
    case 'under-review':
      return [`breakglass grant resolve ${grant.id} --note "..."   (an admin other than the requester)`];
    default:
      return [];
  }
}

export function withNextSteps(text: string, grant: GrantView): string {
  const [first, ...rest] = nextSteps(grant);
  if (first === undefined) return text;
  return [text, '', `next: ${first}`, ...rest.map((line) => `      ${line}`)].join('\n');
}
