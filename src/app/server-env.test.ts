import { describe, expect, it } from 'vitest';
import { serverEnv } from './server-env.js';

describe('server environment', () => {
  it('shutdown: BREAKGLASS_SHUTDOWN_TIMEOUT is a duration, 20s by default, at most 1h', () => {
    expect(serverEnv({}).shutdownTimeoutMs).toBe(20_000);
    expect(serverEnv({ BREAKGLASS_SHUTDOWN_TIMEOUT: '' }).shutdownTimeoutMs).toBe(20_000);
    expect(serverEnv({ BREAKGLASS_SHUTDOWN_TIMEOUT: '45s' }).shutdownTimeoutMs).toBe(45_000);
    expect(serverEnv({ BREAKGLASS_SHUTDOWN_TIMEOUT: '2m' }).shutdownTimeoutMs).toBe(120_000);
    expect(() => serverEnv({ BREAKGLASS_SHUTDOWN_TIMEOUT: '20' })).toThrow('BREAKGLASS_SHUTDOWN_TIMEOUT: must be a duration such as 20s or 2m, at most 1h');
    expect(() => serverEnv({ BREAKGLASS_SHUTDOWN_TIMEOUT: '2d' })).toThrow('at most 1h');
  });
  it('drift: BREAKGLASS_DRIFT_INTERVAL is a duration, 5m by default, 0 turns the periodic scan off', () => {
    expect(serverEnv({}).driftIntervalMs).toBe(300_000);
    expect(serverEnv({ BREAKGLASS_DRIFT_INTERVAL: '1h' }).driftIntervalMs).toBe(3_600_000);
    expect(serverEnv({ BREAKGLASS_DRIFT_INTERVAL: '0' }).driftIntervalMs).toBe(0);
    expect(() => serverEnv({ BREAKGLASS_DRIFT_INTERVAL: '1s' })).toThrow('BREAKGLASS_DRIFT_INTERVAL: must be a duration');
    expect(() => serverEnv({ BREAKGLASS_DRIFT_INTERVAL: 'often' })).toThrow('at least 10s');
  });
});
