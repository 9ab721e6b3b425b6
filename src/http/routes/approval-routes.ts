import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { decisionBody, errorResponseSchema as errorBody, escalateBody, grantIdParams, grantsResponseSchema, grantViewSchema } from '../../api/index.js';
import { asGrantId } from '../../domain/index.js';
import { approveGrant, denyGrant } from '../../modules/approvals/decide-grant.js';
import { escalateGrant } from '../../modules/approvals/escalate-grant.js';
import { pendingApprovals } from '../../modules/approvals/pending-approvals.js';
import type { ModuleContext } from '../../modules/context.js';
import { accountName, accountNames } from '../../modules/grants/show-grant.js';
import { actorOf } from '../actor.js';
import { grantView } from '../views.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 422: errorBody, 503: errorBody };

/** Issue 11 (H1): an approver's approve/deny of a grant awaiting approval, and the requester's escalation. */
export const approvalRoutes =
  (ctx: ModuleContext): FastifyPluginAsync =>
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  async (plain) => {
    const app = plain.withTypeProvider<ZodTypeProvider>();
    const view = async (grant: Parameters<typeof grantView>[0]) => grantView(grant, await accountName(ctx, grant));

    app.get('/approvals', {
      schema: {
        summary: 'The requests waiting for you: grants awaiting approval that their policy lets you approve and you have not decided, oldest first',
        tags: ['grants'],
        response: { 200: grantsResponseSchema, ...errors },
      },
      handler: async (request) => {
        const [grants, names] = await Promise.all([pendingApprovals(ctx, actorOf(request)), accountNames(ctx)]);
        return { grants: grants.map((grant) => grantView(grant, names.get(grant.accountId))) };
      },
    });

    app.post('/grants/:id/approve', {
      schema: {
        summary: 'Approve a grant awaiting approval (an approver the policy names; never the requester)',
        tags: ['grants'],
        params: grantIdParams,
        body: decisionBody,
        response: { 200: grantViewSchema, ...errors },
      },
      handler: async (request) => view(await approveGrant(ctx, actorOf(request), asGrantId(request.params.id), request.body.note)),
    });

    app.post('/grants/:id/deny', {
      schema: {
        summary: 'Deny a grant awaiting approval: one deny ends it',
        tags: ['grants'],
        params: grantIdParams,
        body: decisionBody,
        response: { 200: grantViewSchema, ...errors },
      },
      handler: async (request) => view(await denyGrant(ctx, actorOf(request), asGrantId(request.params.id), request.body.note)),
    });

    app.post('/grants/:id/escalate', {
      schema: {
        summary: 'Escalate your own grant past approvers who did not answer within the policy\'s escalate.after',
        tags: ['grants'],
        params: grantIdParams,
        body: escalateBody,
        response: { 200: grantViewSchema, ...errors },
      },
      handler: async (request) => view(await escalateGrant(ctx, actorOf(request), asGrantId(request.params.id), request.body.reason2)),
    });
  };
