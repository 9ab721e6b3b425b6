import { AppError } from '../errors/index.js';
import type { UserId } from './ids.js';
import type { Actor, UserRole } from './types.js';

/**
 * Who may do what: the one table of Breakglass. Every use case calls `authorize` first (before
 * it reads or changes anything it would reveal or act on); routes and the CLI never check roles.
 * Adding an action is one row here; the permission test calls every use case as every role
 * from this table.
 */
export const actions = [
  'catalog.apply',
  'catalog.read',
  'ssh-ca.read',
  'token.create',
  'target.check',
  'token.list',
  'token.revoke',
  'token.redeem',
  'user.invite',
  'whoami',
  'grant.invoke',
  'grant.reveal',
  'grant.end',
  'grant.cancel',
  'grant.certify',
  'grant.read',
  'grant.list',
  'custodian.ceremony',
  'custodian.kit',
  'custodian.share',
  'audit.verify',
  'audit.export',
  'alert.list',
  'alert.retry',
  'alert.ack',
  'channel.test',
  'drift.scan',
  'drift.read',
  'drift.ack',
  'metrics.read',
  'report.read',
  'drill.run',
  // issue 11 (H1): approvals and escalation.
  'grant.approve',
  'grant.deny',
  'grant.escalate',
  // issue 11 (H3): ending the review of a case certified with misuse suspected.
  'grant.resolve',
  // issue 11 (H2): bounds while active and repeated use.
  'grant.extend',
  'grant.join',
  'incident.close',
  'grant.override',
] as const;
export type Action = (typeof actions)[number];

/**
 * The relation rules that roles alone cannot say, each about the actor and the case:
 * - `requester`: only the person who invoked the grant (reveal: the credential is theirs alone).
 * - `requester-or-role`: the requester, or one of the roles (end, cancel).
 * - `not-requester`: one of the roles, and never the requester (certify: separation of duties).
 * - `own-or-role`: one of the roles sees every case, anyone else only their own; a case they
 *   may not see is reported as not found, since its existence is itself not to be told.
 * - `custodian-of-account`: one of the roles and named among the account's custodians; on a
 *   case (share submission), someone who may not see the case is told it does not exist.
 * - `custodian-or-role`: named among the account's custodians (with a role), or one of the roles.
 * - `policy-invokers`: the policy's `invokers` (roles or user names), or the table's roles when it names none.
 * On an account, someone who may not see the catalog (no role) is told it does not exist.
 * - `self-or-role`: about a user's own things (their tokens): the user themselves, or one of the roles.
 * - `self-or-service`: minting a token: for oneself, or (one of the roles) for a `service` user;
 *   never for another person, so nobody can act as someone else (enrolment codes exist for that).
 *
 * - `policy-approvers` (issue 11, H1): named in the policy's `approvers` (by user name, or by a
 *   role the user holds), and never the requester (nor with a token the requester minted);
 *   someone who may neither approve nor see every case is told the case does not exist.
 *
 * Whatever the rule, a user with no role at all may take only the `authenticated` actions.
 */
export type Relation =
  | 'requester'
  | 'requester-or-role'
  | 'not-requester'
  | 'own-or-role'
  | 'custodian-of-account'
  | 'custodian-or-role'
  | 'policy-invokers'
  | 'self-or-role'
  | 'self-or-service'
  // issue 11 (H1)
  | 'policy-approvers';

export interface Permission {
  /**
   * Roles that may take the action (with `relation`, the roles the relation refers to);
   * `any-role`: a user with at least one role; `authenticated`: anyone signed in.
   */
  readonly roles: readonly UserRole[] | 'any-role' | 'authenticated';
  readonly relation?: Relation;
  /** What the refusal tells the actor to do, so nobody has to guess. */
  readonly hint: string;
}

export const permissions: Readonly<Record<Action, Permission>> = {
  'catalog.apply': { roles: ['admin'], hint: 'applying a catalog needs the admin role' },
  // Declared but not yet trusted users (no role at all) learn nothing of the catalog.
  'catalog.read': { roles: 'any-role', hint: 'listing accounts needs a role' },
  // A CA public key is public: sshd hosts are configured with it.
  // A CA public key is public, but a user with no role may only ask who they are.
  'ssh-ca.read': { roles: 'any-role', hint: 'reading an SSH CA key needs a role' },
  'token.create': {
    roles: ['admin'],
    relation: 'self-or-service',
    hint: 'a token is created by its own user; for another person run `breakglass user invite NAME` and let them redeem the code (admins create tokens only for service users)',
  },
  'token.list': { roles: ['admin'], relation: 'self-or-role', hint: 'only admins see other users\' tokens' },
  'token.revoke': { roles: ['admin'], relation: 'self-or-role', hint: 'only admins revoke other users\' tokens' },
  // The enrolment code is the credential: whoever holds it is the invited user.
  'token.redeem': { roles: 'authenticated', hint: 'redeeming an enrolment code needs the code' },
  'user.invite': { roles: ['admin'], hint: 'inviting a user needs the admin role' },
  'whoami': { roles: 'authenticated', hint: 'whoami needs a token' },
  'target.check': { roles: ['admin'], hint: 'checking a target needs the admin role' },
  'grant.invoke': { roles: ['responder', 'admin'], relation: 'policy-invokers', hint: 'invoking needs a role the policy lets invoke' },
  'grant.reveal': { roles: 'any-role', relation: 'requester', hint: 'only the requester of a grant (or a co-responder who joined it) can reveal its credential' },
  'grant.end': { roles: ['incident-owner', 'admin'], relation: 'requester-or-role', hint: 'only the requester, an incident owner or an admin can end a grant' },
  'grant.cancel': { roles: ['incident-owner', 'admin'], relation: 'requester-or-role', hint: 'only the requester, an incident owner or an admin can cancel a request' },
  'grant.certify': { roles: ['incident-owner', 'admin'], relation: 'not-requester', hint: 'certifying needs the incident-owner or admin role' },
  'grant.read': { roles: ['admin', 'incident-owner', 'auditor', 'custodian'], relation: 'own-or-role', hint: 'only overseers see other people\'s grants' },
  // Everyone with a role lists cases; who sees which is `grant.read`'s rule, applied in the query.
  'grant.list': { roles: 'any-role', hint: 'listing grants needs a role' },
  'custodian.ceremony': { roles: ['admin'], hint: 'a key ceremony needs the admin role' },
  // A kit names the custodians and carries the sealed secret: for the account's own custodians.
  'custodian.kit': { roles: ['admin'], relation: 'custodian-or-role', hint: 'the offline kit is for the account\'s custodians and admins' },
  'custodian.share': { roles: ['custodian'], relation: 'custodian-of-account', hint: 'only the account\'s custodians present shares' },
  'audit.verify': { roles: ['admin', 'auditor', 'incident-owner'], hint: 'verifying the audit chain needs the admin, auditor or incident-owner role' },
  'audit.export': { roles: ['admin', 'auditor'], hint: 'exporting the audit chain needs the admin or auditor role' },
  // What was announced where is part of the record: auditors read it; acting on it is the admin's.
  'alert.list': { roles: ['admin', 'auditor'], hint: 'listing alerts needs the admin or auditor role' },
  'alert.retry': { roles: ['admin'], hint: 'retrying an alert needs the admin role' },
  // "Someone has seen it" stops the escalation: the people who watch over cases may say so.
  'alert.ack': { roles: ['admin', 'incident-owner', 'auditor'], hint: 'acknowledging an alert needs the admin, incident-owner or auditor role' },
  'channel.test': { roles: ['admin'], hint: 'testing an alert channel needs the admin role' },
  // A scan may fix what it finds (autoRemediate): the admin's; what it found is part of the record.
  'drift.scan': { roles: ['admin'], hint: 'running a drift scan needs the admin role' },
  'drift.read': { roles: ['admin', 'auditor'], hint: 'listing drift findings needs the admin or auditor role' },
  'drift.ack': { roles: ['admin'], hint: 'acknowledging a drift finding needs the admin role' },
  // Counts only, no case data beyond account names; a scraper may use BREAKGLASS_METRICS_TOKEN instead.
  'metrics.read': { roles: ['admin', 'auditor'], hint: 'reading /metrics needs the admin or auditor role, or BREAKGLASS_METRICS_TOKEN' },
  'report.read': { roles: ['admin', 'auditor', 'incident-owner'], hint: 'the governance report needs the admin, auditor or incident-owner role' },
  // A drill enables, ends and rotates a real account: the admin's.
  'drill.run': { roles: ['admin'], hint: 'running a drill needs the admin role' },
  // issue 11 (H1): the policy names its approvers; a role (even `approver` or `admin`) approves nothing it does not name.
  'grant.approve': { roles: 'any-role', relation: 'policy-approvers', hint: 'only an approver the policy names (by user name or role) can approve, and never the requester' },
  'grant.deny': { roles: 'any-role', relation: 'policy-approvers', hint: 'only an approver the policy names (by user name or role) can deny, and never the requester' },
  // Going past silent approvers is the requester's own act, with a second justification.
  'grant.escalate': { roles: 'any-role', relation: 'requester', hint: 'only the requester of a grant can escalate it' },
  // issue 11 (H3): misuse was suspected; an admin who is not the requester decides, with a note.
  'grant.resolve': { roles: ['admin'], relation: 'not-requester', hint: 'resolving a case under review needs the admin role' },
  // issue 11 (H2): whoever may end a case may extend it (within the policy's limits); whoever may invoke the account may join its live case.
  'grant.extend': { roles: ['incident-owner', 'admin'], relation: 'requester-or-role', hint: 'only the requester, an incident owner or an admin can extend a grant' },
  'grant.join': { roles: ['responder', 'admin'], relation: 'policy-invokers', hint: 'joining a case needs a role the policy lets invoke' },
  // The incident system's token closes incidents and does nothing else (`incident-system` is in no other row, and not `any-role`).
  // An invocation past `requireCertifiedPrevious` (with --override-reason, audited and marked): the admin's.
  'grant.override': { roles: ['admin'], hint: 'invoking with --override-reason (past requireCertifiedPrevious) needs the admin role' },
  'incident.close': { roles: ['incident-system', 'incident-owner', 'admin'], hint: 'closing an incident needs the incident-system, incident-owner or admin role' },
};

/** What the relation rules look at: the case, and the account's custodians or policy. */
export interface AuthorizationSubject {
  /** The grant in question, for relation rules about its requester (reveal, end, certify, read). */
  readonly grant?: {
    readonly id: string;
    readonly requesterId: UserId;
    // issue 11 (H2): who joined the case (reveal: each of them reveals once, like the requester).
    readonly coResponderIds?: readonly UserId[];
  } & GrantDuties;
  /** The account acted on: its name and custodians (invoke, share submission, kit). */
  readonly account?: { readonly name: string; readonly custodians: readonly string[] };
  /** The account's policy (invocation): its `invokers` replace the table's roles when it names any. */
  readonly policy?: { readonly name: string; readonly invokers: readonly UserRole[]; readonly invokerUsers?: readonly string[] | undefined };
  /** The user whose things are acted on (their tokens), and whether it is a service user. */
  readonly user?: { readonly id: UserId; readonly name: string; readonly service: boolean };
  // issue 11 (H1): the policy's approvers (approve, deny); the case's approvals and escalation (certify, share submission).
  readonly approval?: { readonly policy: string; readonly approvers: readonly string[] };
}

/** Issue 11 (H1): what a case records of who approved it and whether it was escalated (a `Grant` carries both). */
export interface GrantDuties {
  readonly approvals?: readonly { readonly by: UserId }[] | undefined;
  readonly escalated?: boolean | undefined;
}

/** Issue 11 (H1): did this actor approve (or deny) the case? */
const decidedOn = (grant: GrantDuties, actor: Actor): boolean => (grant.approvals ?? []).some((a) => a.by === actor.id);

/** Relations about a case: acting on a case one may not see answers `not_found`. */
const caseRelations: ReadonlySet<Relation> = new Set(['requester', 'requester-or-role', 'not-requester', 'own-or-role', 'custodian-of-account']);
/** Relations about an account: acting on an account one may not see (no role) answers `not_found`. */
const accountRelations: ReadonlySet<Relation> = new Set(['custodian-of-account', 'custodian-or-role', 'policy-invokers']);

// issue 11 (H2): roles whose tokens may take only the actions whose row names them (never `any-role` nor `authenticated`).
const confinedRoles: readonly UserRole[] = ['incident-system'];

/** Issue 11 (H2): is the actor confined (an incident-system token) and the action not one named for its role? */
function confinedOut(actor: Actor, roles: Permission['roles']): boolean {
  const confined = actor.roles.filter((role) => confinedRoles.includes(role));
  return confined.length > 0 && (typeof roles === 'string' || !confined.every((role) => roles.includes(role)));
}

function hasRole(actor: Actor, roles: Permission['roles']): boolean {
  // issue 11 (H2): a confined role never counts as "a role" for `any-role` rules.
  if (roles === 'any-role') return actor.roles.some((role) => !confinedRoles.includes(role));
  if (roles === 'authenticated') return true;
  return actor.roles.some((role) => roles.includes(role));
}

// issue 11 (H2): the requester, or a co-responder who joined the case.
function involved(grant: NonNullable<AuthorizationSubject['grant']>, actor: Actor): boolean {
  return grant.requesterId === actor.id || (grant.coResponderIds ?? []).includes(actor.id);
}

function need<T>(value: T | undefined, action: Action, what: string): T {
  // A use case that forgets its subject is a bug; refusing is the safe answer.
  if (value === undefined) throw new AppError('internal', `authorize(${action}) needs the ${what}`);
  return value;
}

/**
 * The one authorization guard. Throws `forbidden`, `separation_of_duties`, or `not_found` (for a
 * case the actor may not even know exists); returns nothing when the action is allowed.
 * @example authorize(actor, 'grant.certify', { grant })
 */
export function authorize(actor: Actor, action: Action, subject: AuthorizationSubject = {}): void {
  const rule = permissions[action];
  const forbidden = () => new AppError('forbidden', rule.hint);
  // issue 11 (H2): an incident-system token may call the incident-close endpoint and nothing else.
  // Redeeming its enrolment code is how such a machine gets its token (the code is the credential, not a token).
  if (action !== 'token.redeem' && confinedOut(actor, rule.roles)) throw new AppError('forbidden', `an incident-system token may only close incidents (POST /v1/incidents/{ref}/close); ${rule.hint}`);
  // Acting on a case one may not even see answers as for a case that does not exist: a refusal
  // would tell that someone else's grant is there.
  if (subject.grant && rule.relation !== undefined && caseRelations.has(rule.relation) && !involved(subject.grant, actor) && !seesEveryCase(actor)) {
    throw new AppError('not_found', `grant ${subject.grant.id} not found`);
  }
  if (subject.account && rule.relation !== undefined && accountRelations.has(rule.relation) && !hasRole(actor, permissions['catalog.read'].roles)) {
    throw new AppError('not_found', `account "${subject.account.name}" not found`);
  }
  // Declared but not yet trusted (or stripped of every role): they may only ask who they are.
  if (actor.roles.length === 0 && rule.roles !== 'authenticated') throw forbidden();
  switch (rule.relation) {
    case undefined:
      if (!hasRole(actor, rule.roles)) throw forbidden();
      return;
    case 'requester':
      if (!involved(need(subject.grant, action, 'grant'), actor) || !hasRole(actor, rule.roles)) throw forbidden();
      return;
    case 'requester-or-role':
      if (need(subject.grant, action, 'grant').requesterId !== actor.id && !hasRole(actor, rule.roles)) throw forbidden();
      return;
    case 'not-requester': {
      const grant = need(subject.grant, action, 'grant');
      // The verb of the refusal: certifying, or resolving the review of a case (grant.resolve).
      const [verb, who] = action === 'grant.resolve' ? ['resolve its review', 'another admin'] : ['certify it', 'the incident owner'];
      if (grant.requesterId === actor.id) {
        throw new AppError('separation_of_duties', `the requester of a grant cannot ${verb}; ask ${who}`);
      }
      // A token the requester minted (for a service user) must not act on their own case either.
      if (actor.tokenCreatorId !== undefined && grant.requesterId === actor.tokenCreatorId) {
        throw new AppError('separation_of_duties', `this token was created by the requester of the grant; ${verb.split(' ')[0]} with a token of your own`);
      }
      if (!hasRole(actor, rule.roles)) throw forbidden();
      // issue 11 (H1): requester ≠ approver ≠ certifier; an escalated case went past its approvers, so an admin certifies it.
      if (decidedOn(grant, actor)) {
        throw new AppError('separation_of_duties', 'an approver of a grant cannot certify it; ask another incident owner or an admin');
      }
      if (grant.escalated === true && !actor.roles.includes('admin')) {
        throw new AppError('forbidden', 'this grant was escalated past its approvers; only an admin who is not its requester can certify it');
      }
      return;
    }
    case 'own-or-role': {
      const grant = need(subject.grant, action, 'grant');
      // issue 11 (H2): a co-responder sees the case they joined.
      if (!involved(grant, actor) && !hasRole(actor, rule.roles)) throw new AppError('not_found', `grant ${grant.id} not found`);
      return;
    }
    case 'custodian-of-account': {
      const account = need(subject.account, action, 'account');
      if (!hasRole(actor, rule.roles) || !account.custodians.includes(actor.name)) {
        throw new AppError('forbidden', `${actor.name} is not a custodian of account "${account.name}"`);
      }
      // issue 11 (H1): an approval and a share from the same person do not count twice.
      if (subject.grant !== undefined && decidedOn(subject.grant, actor)) {
        throw new AppError('separation_of_duties', `${actor.name} approved this grant; a share must come from another custodian`);
      }
      return;
    }
    case 'custodian-or-role': {
      const account = need(subject.account, action, 'account');
      if (!hasRole(actor, rule.roles) && !account.custodians.includes(actor.name)) {
        throw new AppError('forbidden', `${actor.name} is not a custodian of account "${account.name}"; ${rule.hint}`);
      }
      return;
    }
    case 'policy-invokers': {
      const policy = need(subject.policy, action, 'policy');
      // issue 11 (H4): `invokers` names roles or users; with any named, only they may invoke.
      const users = policy.invokerUsers ?? [];
      if (users.length > 0) {
        if (hasRole(actor, policy.invokers) || users.includes(actor.name)) return;
        throw new AppError('forbidden', `${actor.name} is not among the invokers of policy "${policy.name}" (invokers: ${[...policy.invokers, ...users].join(', ')})`, { path: 'invokers' });
      }
      const invokers = policy.invokers.length > 0 ? policy.invokers : rule.roles;
      if (!hasRole(actor, invokers)) {
        throw new AppError('forbidden', `policy "${policy.name}" lets only ${typeof invokers === 'string' ? 'users with a role' : invokers.join(', ')} invoke (invokers)`, { path: 'invokers' });
      }
      return;
    }
    case 'self-or-role':
      if (need(subject.user, action, 'user').id !== actor.id && !hasRole(actor, rule.roles)) throw forbidden();
      return;
    // issue 11 (H1)
    case 'policy-approvers':
      return authorizeApprover(actor, action, rule, subject);
    case 'self-or-service': {
      const user = need(subject.user, action, 'user');
      if (user.id === actor.id) return;
      if (!user.service) throw new AppError('forbidden', `"${user.name}" is a person, not a service user: ${rule.hint}`);
      if (!hasRole(actor, rule.roles)) throw forbidden();
      return;
    }
  }
}

// issue 11 (H1): who may approve or deny a grant.
function authorizeApprover(actor: Actor, action: Action, rule: Permission, subject: AuthorizationSubject): void {
  const grant = need(subject.grant, action, 'grant');
  const approval = need(subject.approval, action, 'approval');
  const named = approval.approvers.includes(actor.name) || actor.roles.some((role) => approval.approvers.includes(role));
  // Someone who may neither decide on the case nor see it learns nothing about it, not even that it is there.
  if (!named && grant.requesterId !== actor.id && !seesEveryCase(actor)) throw new AppError('not_found', `grant ${grant.id} not found`);
  const verb = action === 'grant.deny' ? 'deny' : 'approve';
  if (grant.requesterId === actor.id) throw new AppError('separation_of_duties', `the requester of a grant cannot ${verb} it; one of the policy's approvers must`);
  if (actor.tokenCreatorId !== undefined && grant.requesterId === actor.tokenCreatorId) {
    throw new AppError('separation_of_duties', `this token was created by the requester of the grant; ${verb} with a token of your own`);
  }
  if (!named || !hasRole(actor, rule.roles)) {
    throw new AppError('forbidden', `${actor.name} is not among the approvers of policy "${approval.policy}" (${approval.approvers.join(', ')})`);
  }
}

/** May the actor see and revoke every user's tokens, or only their own? */
export function managesEveryToken(actor: Actor): boolean {
  return actor.roles.length > 0 && hasRole(actor, permissions['token.list'].roles);
}

/** May the actor see every case, or only their own? (Lists filter with this; so does every action on a case.) */
export function seesEveryCase(actor: Actor): boolean {
  return hasRole(actor, permissions['grant.read'].roles);
}
