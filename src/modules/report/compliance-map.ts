/**
 * The compliance mapping of the governance report: each control, the concrete evidence
 * Breakglass holds for it (a figure of this report or a feature, and where to find it), or
 * `gap` where it holds none. A static table, reviewed like code: a control is `evidence` only
 * when something in this repository produces it, `partial` when it covers part of the control.
 */

export type ComplianceStatus = 'evidence' | 'partial' | 'gap';

export interface ComplianceControl {
  readonly framework: string;
  readonly control: string;
  readonly title: string;
  readonly status: ComplianceStatus;
  /** What Breakglass holds, or what is missing for a gap. */
  readonly evidence: string;
  /** Where the evidence is: a report section, a command, a file. */
  readonly where: string;
}

const owasp = 'OWASP Non-Human Identities Top 10 (2025)';
const csf = 'NIST CSF 2.0';
const sp80053 = 'NIST SP 800-53 Rev. 5';
const zt = 'NIST SP 800-207';
const soc2 = 'SOC 2 (TSC 2017)';
const iso = 'ISO/IEC 27001:2022';

export const complianceMap: readonly ComplianceControl[] = [
  { framework: owasp, control: 'NHI-03', title: 'Vulnerable third-party NHI', status: 'gap', evidence: 'Breakglass does not inventory third-party integrations or the NHIs they hold; it governs only the emergency accounts of its catalog.', where: '—' },
  { framework: owasp, control: 'NHI-01', title: 'Improper offboarding', status: 'evidence', evidence: 'Every case ends by TTL or early end with a verified revocation (ephemeral users dropped, pre-staged logins disabled); accounts removed from the catalog are retired; users no longer declared are disabled with their tokens.', where: 'report: time to revoke, privilege valid after end; audit: grant.revocation-verified, account.retired, user.disabled' },
  { framework: owasp, control: 'NHI-02', title: 'Secret leakage', status: 'partial', evidence: 'Secrets are sealed at rest (envelope encryption), revealed once to the requester, never logged or audited; pre-staged secrets are rotated after every use. Leak detection outside Breakglass is not covered.', where: 'report: rotations since last use; audit: grant.revealed, grant.rotation-verified' },
  { framework: owasp, control: 'NHI-04', title: 'Insecure authentication', status: 'partial', evidence: 'Hashed, expiring, revocable API tokens; one-time enrolment codes. No mTLS or workload identity federation for clients.', where: 'breakglass token list; audit: token.created, token.revoked' },
  { framework: owasp, control: 'NHI-05', title: 'Overprivileged NHI', status: 'partial', evidence: 'Privileges are per account in the catalog and per case in time; certification records whether access was scoped. Least privilege on the target itself is the catalog author\'s.', where: 'report: certification outcomes (scoped)' },
  { framework: owasp, control: 'NHI-07', title: 'Long-lived secrets', status: 'evidence', evidence: 'Ephemeral credentials live for one case; pre-staged secrets are rotated after each use and verified on the target.', where: 'report: rotations since last use, privilege valid after end' },
  { framework: owasp, control: 'NHI-09', title: 'NHI reuse', status: 'partial', evidence: 'Each case names its requester, condition, incident and reason; per-account usage shows who used which account. Reuse of an account across applications outside Breakglass is not seen.', where: 'report: per account usage' },
  { framework: owasp, control: 'NHI-10', title: 'Human use of NHI', status: 'evidence', evidence: 'Every human use of an emergency account is a case with a named requester, post-hoc certification and misuse signals.', where: 'report: per account usage, misuse-suspected cases' },
  { framework: csf, control: 'PR.AA', title: 'Identity management, authentication and access control', status: 'evidence', evidence: 'Role table for every action, per-case time-bound access, separation of duties on certification, dual control (custodian quorum) where configured.', where: 'src/domain/permissions.ts; report: certification outcomes' },
  { framework: sp80053, control: 'AC-2(2)', title: 'Automated temporary and emergency account management', status: 'evidence', evidence: 'Emergency access is granted for a TTL and removed automatically by the durable scheduler, with the removal verified on the target.', where: 'report: time to revoke, privilege valid after end (share above 60 s)' },
  { framework: sp80053, control: 'AC-2(3)', title: 'Disable accounts', status: 'partial', evidence: 'Pre-staged accounts are disabled between cases and after each case; catalog users no longer declared are disabled. No inactivity-based disabling of Breakglass users.', where: 'audit: grant.revocation-verified, user.disabled' },
  { framework: sp80053, control: 'AC-6', title: 'Least privilege', status: 'partial', evidence: 'Access only for a declared condition and a bounded TTL; certification records necessity and scope. The privileges on the target are the catalog author\'s.', where: 'report: certification outcomes, misuse-suspected cases' },
  { framework: sp80053, control: 'AU-9', title: 'Protection of audit information', status: 'evidence', evidence: 'Hash-chained audit log with Ed25519-signed checkpoints; the append fails closed; export and offline verification.', where: 'report header: audit chain head and signed checkpoint; breakglass audit verify' },
  { framework: sp80053, control: 'AU-10', title: 'Non-repudiation', status: 'partial', evidence: 'Each event names the actor and the token used; the chain is signed by the server key. Actions are not signed by the individual users\' own keys.', where: 'audit events (actor, tokenId); breakglass audit export' },
  { framework: zt, control: 'Tenet 3', title: 'Access granted per session', status: 'evidence', evidence: 'Each case is its own grant with its own credential (ephemeral) or a rotated secret (pre-staged), bounded in time.', where: 'report: per account usage, time to access' },
  { framework: zt, control: 'Tenet 6 / re-evaluation', title: 'Dynamic re-evaluation during a session', status: 'gap', evidence: 'A grant is evaluated at invoke; nothing re-evaluates it mid-session (posture, risk signals) short of an early end.', where: '—' },
  { framework: soc2, control: 'CC6.1', title: 'Logical access security', status: 'evidence', evidence: 'Sealed secrets, role-based authorization, tamper-evident audit.', where: 'src/domain/permissions.ts; report header (audit head)' },
  { framework: soc2, control: 'CC6.2', title: 'Registration and authorization of users', status: 'evidence', evidence: 'Users are declared in the catalog and enrol with one-time codes; every change is audited.', where: 'audit: user.created, user.invited, token.redeemed' },
  { framework: soc2, control: 'CC6.3', title: 'Role-based access, removal when no longer needed', status: 'evidence', evidence: 'Access ends by TTL with verified revocation; post-hoc certification by someone other than the requester.', where: 'report: time to revoke, certification outcomes and latency, overdue cases' },
  { framework: iso, control: 'A.5.15', title: 'Access control', status: 'evidence', evidence: 'One permission table; access only through a case under a policy (conditions, incident pattern, TTL bounds, invokers).', where: 'src/domain/permissions.ts; catalog policies' },
  { framework: iso, control: 'A.5.18', title: 'Access rights', status: 'evidence', evidence: 'Rights provisioned per case and removed at its end; reviewed by certification.', where: 'report: certification outcomes, overdue cases' },
  { framework: iso, control: 'A.8.2', title: 'Privileged access rights', status: 'evidence', evidence: 'Privileged accounts are used only through cases, time-bound, certified, optionally under dual control.', where: 'report: per account usage, privilege valid after end' },
  { framework: iso, control: 'A.8.15', title: 'Logging', status: 'evidence', evidence: 'Every case step and administrative change is in the signed hash chain; exportable and verifiable offline.', where: 'report header: audit chain head and signed checkpoint' },
];
