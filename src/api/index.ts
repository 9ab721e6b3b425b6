export * from './audit-api.js';
export * from './catalog-api.js';
export * from './custodian-api.js';
export * from './error-api.js';
export * from './grant-api.js';
export * from './identity-api.js';
export * from './sys-api.js';
export * from './tolerant.js';
