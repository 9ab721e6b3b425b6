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

  it('metrics: BREAKGLASS_METRICS_TOKEN is unset when empty, and at least 32 characters when set', () => {
    expect(serverEnv({}).metricsToken).toBeUndefined();
    expect(serverEnv({ BREAKGLASS_METRICS_TOKEN: '' }).metricsToken).toBeUndefined();
    expect(serverEnv({ BREAKGLASS_METRICS_TOKEN: 'a'.repeat(32) }).metricsToken).toBe('a'.repeat(32));
    expect(() => serverEnv({ BREAKGLASS_METRICS_TOKEN: 'short' })).toThrow('BREAKGLASS_METRICS_TOKEN: must be at least 32 characters');
  });

  // issue 13 (sched)
  it('jobs: BREAKGLASS_JOB_CONCURRENCY is a whole number from 1 to 256, the scheduler\'s default when unset', () => {
    expect(serverEnv({}).jobConcurrency).toBeUndefined();
    expect(serverEnv({ BREAKGLASS_JOB_CONCURRENCY: '' }).jobConcurrency).toBeUndefined();
    expect(serverEnv({ BREAKGLASS_JOB_CONCURRENCY: '32' }).jobConcurrency).toBe(32);
    for (const wrong of ['0', '257', '1.5', '-4', 'many', ' 8']) {
      expect(() => serverEnv({ BREAKGLASS_JOB_CONCURRENCY: wrong })).toThrow('BREAKGLASS_JOB_CONCURRENCY: must be a whole number from 1 to 256');
    }
  });

  // issue 13 (per-target limit)
  it('targets: BREAKGLASS_TARGET_CONNECTIONS is a whole number from 1 to 64, the pools\' default (4) when unset', () => {
    expect(serverEnv({}).targetConnections).toBeUndefined();
    expect(serverEnv({ BREAKGLASS_TARGET_CONNECTIONS: '8' }).targetConnections).toBe(8);
    for (const wrong of ['0', '65', '2.5', 'x']) {
      expect(() => serverEnv({ BREAKGLASS_TARGET_CONNECTIONS: wrong })).toThrow('BREAKGLASS_TARGET_CONNECTIONS: must be a whole number from 1 to 64, such as 4');
    }
  });
});
