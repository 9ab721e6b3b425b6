/**
 * The incident check of a policy (issue 11, H4): before a case is opened, the incident system
 * is asked whether the incident exists — `GET url` with `{incident}` replaced by the encoded
 * reference — and must answer 2xx. It runs before any transaction or account lock: a slow
 * incident system must never hold a lock that revocations of the account wait for.
 *
 * The URL rule is the domain's `incidentCheckUrlProblem` (https, except loopback or
 * `allowCleartext`), checked at apply and again here. Like the alert channels' deliveries
 * (src/notify/http-delivery.ts) the request is bounded in time and follows no redirect; the
 * answer's body is never read, so nothing the incident system says reaches a message.
 */
import { criterionRefusal, incidentCheckUrl, incidentCheckUrlProblem, type IncidentCheck } from '../../domain/index.js';

/** How long the incident system may take when the policy does not say. */
export const INCIDENT_CHECK_TIMEOUT_MS = 5_000;

/** The check's outcome: `passed` (2xx), or `unreachable-allowed` (the policy let it through; audit and alert it). */
export type IncidentCheckOutcome = 'passed' | 'unreachable-allowed';

/** What the check saw, before the policy decides: an answer with its status, or none. */
type Answer = { readonly status: number } | { readonly unreachable: string };

async function ask(url: string, timeoutMs: number): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'breakglass-incident-check' },
      signal: AbortSignal.timeout(timeoutMs),
      // A redirect could lead anywhere (another host, cleartext): it is not an answer.
      redirect: 'manual',
    });
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error instanceof Error ? error.name : 'unknown');
    return { unreachable: cause === 'TimeoutError' ? `no answer within ${timeoutMs}ms` : cause };
  }
}

/**
 * Asks the incident system about `incident` under the policy's `incidentCheck`. Returns the
 * outcome, or throws `policy_violation` with path `incidentCheck` and a message naming it:
 * a 4xx or any other non-2xx answer refuses; no answer, a timeout or a 5xx is the policy's
 * `onUnreachable` (deny refuses, allow returns `unreachable-allowed`).
 * @example await checkIncident('p1', policy.incidentCheck, 'INC-7')
 */
export async function checkIncident(policyName: string, check: IncidentCheck, incident: string): Promise<IncidentCheckOutcome> {
  // The stored URL was checked at apply; checked again so a store edited by hand cannot send the reference in clear.
  const problem = incidentCheckUrlProblem(check.url, check.allowCleartext === true);
  if (problem !== undefined) throw criterionRefusal('incidentCheck', `the incidentCheck url of policy "${policyName}" ${problem}; fix the catalog and apply it again`);
  const timeoutMs = check.timeoutMs ?? INCIDENT_CHECK_TIMEOUT_MS;
  const answer = await ask(incidentCheckUrl(check.url, incident), timeoutMs);
  if ('status' in answer && answer.status >= 200 && answer.status < 300) return 'passed';
  const unreachable = 'unreachable' in answer ? answer.unreachable : answer.status >= 500 ? `HTTP ${answer.status}` : undefined;
  if (unreachable === undefined) {
    const status = 'status' in answer ? answer.status : 0;
    const what = status >= 300 && status < 400 ? `answered with a redirect (${status}), which is not followed` : `not found in the incident system (${status})`;
    throw criterionRefusal('incidentCheck', `incident ${incident} ${what}; policy "${policyName}" requires incidentCheck to answer 2xx: check the reference`);
  }
  if (check.onUnreachable === 'allow') return 'unreachable-allowed';
  throw criterionRefusal(
    'incidentCheck',
    `the incident system was unreachable (${unreachable}) and policy "${policyName}" says incidentCheck onUnreachable: deny; retry, or ask an admin`,
  );
}
