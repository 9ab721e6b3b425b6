export * from './ids.js';
export * from './types.js';
export * from './duration.js';
export * from './grant-lifecycle.js';
export * from './policy.js';
export * from './linear-pattern.js';
export * from './permissions.js';
export * from './audit-actions.js';
