import type { ErrorCode } from '../errors/index.js';

/** The one table from error code to HTTP status. */
export const errorStatus: Record<ErrorCode, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  separation_of_duties: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  already_revealed: 409,
  policy_violation: 422,
  target_unavailable: 503,
  target_error: 502,
  unverifiable: 422,
  audit_failed: 500,
  integrity: 500,
  crypto: 500,
  sealed: 503,
  store_unavailable: 503,
  internal: 500,
};
