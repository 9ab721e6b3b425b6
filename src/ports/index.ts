export * from './clock.js';
export * from './connector.js';
export * from './store.js';
export * from './key-provider.js';
export * from './revocation-journal.js';
export * from './alerts.js';
export * from './drift.js';
// issue 11 (H2): co-responders
export * from './co-responders.js';
// issue 14 (enroll): local sign-in credentials
export * from './local-credentials.js';
