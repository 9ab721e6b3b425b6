import type { Migration, MigrationProvider } from 'kysely';
import { initialSchema } from './0001-initial-schema.js';
import { connectorSpecs } from './0002-connector-specs.js';
import { dualControl } from './0003-dual-control.js';
import { tokenLifecycle } from './0004-token-lifecycle.js';
import { retiredCatalog } from './0005-retired-catalog.js';
import { grantsByRequester } from './0006-grants-by-requester.js';
import { stagedOn } from './0007-staged-on.js';
import { jobFencing } from './0008-job-fencing.js';
import { pendingShares } from './0009-pending-shares.js';
import { alerts } from './0010-alerts.js';
import { alertMarks } from './0011-alert-marks.js';
import { alertAcks } from './0012-alert-acks.js';
import { policyExpiryWarning } from './0013-policy-expiry-warning.js';
import { driftFindings } from './0014-drift-findings.js';
import { drills } from './0015-drills.js';
import { drillSince } from './0016-drill-since.js';
// issue 11 (governance): approvals, bounds, certification and history, invocation criteria.
import { approvals } from './0017-approvals.js';
import { bounds } from './0018-bounds.js';
import { certificationHistory } from './0019-certification-history.js';
import { invocationCriteria } from './0020-invocation-criteria.js';
// issue 12 (P2): revocation evidence.
import { revocationEvidence } from './0022-revocation-evidence.js';
// issue 13 (sched): indexes for the claim order and the next due instant.
import { jobClaimOrder } from './0024-job-claim-order.js';
// issue 14 (enroll): local sign-in credentials.
import { localCredentials } from './0025-local-credentials.js';

/**
 * Migrations in code, so the built server needs no migration files on disk. Names sort in the
 * order they must run; never rename or edit one that has shipped, add a new one.
 */
const migrations: Record<string, Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-connector-specs': connectorSpecs,
  '0003-dual-control': dualControl,
  '0004-token-lifecycle': tokenLifecycle,
  '0005-retired-catalog': retiredCatalog,
  '0006-grants-by-requester': grantsByRequester,
  '0007-staged-on': stagedOn,
  '0008-job-fencing': jobFencing,
  '0009-pending-shares': pendingShares,
  '0010-alerts': alerts,
  '0011-alert-marks': alertMarks,
  '0012-alert-acks': alertAcks,
  '0013-policy-expiry-warning': policyExpiryWarning,
  '0014-drift-findings': driftFindings,
  '0015-drills': drills,
  '0016-drill-since': drillSince,
  '0017-approvals': approvals,
  '0018-bounds': bounds,
  '0019-certification-history': certificationHistory,
  '0020-invocation-criteria': invocationCriteria,
  // issue 12 (P2)
  '0022-revocation-evidence': revocationEvidence,
  // issue 13 (sched)
  '0024-job-claim-order': jobClaimOrder,
  // issue 14 (enroll)
  '0025-local-credentials': localCredentials,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
