import { z } from 'zod';
import { safeText } from './safe-text.js';

// issue 11 (H1): approvals and escalation.

/** `POST /v1/grants/{id}/approve` and `/deny`: the approver's note goes into the audit trail. */
export const decisionBody = z.object({
  note: safeText({ min: 1, max: 2000, multiline: true }).describe('why you approve or deny (audited)'),
});

/** `POST /v1/grants/{id}/escalate`: the requester's second justification for going past silent approvers. */
export const escalateBody = z.object({
  reason2: safeText({ min: 1, max: 2000, multiline: true }).describe('why the case cannot wait for its approvers (audited)'),
});

/** One approver's decision, as shown with a grant. */
export const approvalViewSchema = z.object({
  by: z.string(),
  at: z.string().describe('ISO 8601 date-time'),
  decision: z.enum(['approved', 'denied']),
  note: z.string(),
});
