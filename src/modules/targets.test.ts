import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TargetId } from '../domain/index.js';
import type { Connector, ConnectorFactory, TargetConnection, TargetRecord } from '../ports/index.js';
import { keepTargetConnectors, withConnector } from './targets.js';
import { aad, createVault } from './vault/vault.js';

// issue 13 (pool): the server keeps one connector per target, so its pooled connections are reused.

interface Made {
  readonly target: TargetConnection;
  closed: boolean;
}

function setup() {
  const made: Made[] = [];
  const connectors: ConnectorFactory = (target) => {
    const record: Made = { target, closed: false };
    made.push(record);
    const connector: Connector = {
      capabilities: { supportsSessionKill: false, supportsNativeExpiry: false, supportsPrestaged: false, supportsEphemeral: false },
      close: () => {
        record.closed = true;
        return Promise.resolve();
      },
    };
    return connector;
  };
  const vault = createVault(randomBytes(32));
  const ctx = { connectors, vault };
  // Sealed once per secret, as the store keeps it: reading the target again gives the same value.
  const sealed = new Map<string, string>();
  const sealedFor = (id: string, secret: string) => {
    const key = `${id}/${secret}`;
    if (!sealed.has(key)) sealed.set(key, vault.seal(secret, aad.targetAdmin(id as TargetId)));
    return sealed.get(key);
  };
  const target = (id: string, settings: Record<string, unknown>, adminSecret = 'admin-pw', type = 'postgres'): TargetRecord => ({
    id: id as TargetId,
    name: id,
    type,
    settings,
    adminSecretSealed: sealedFor(id, adminSecret),
  });
  return { made, ctx, target };
}

describe('withConnector without kept connectors (test beds, the CLI)', () => {
  it('makes a connector for each call and closes it after', async () => {
    const { made, ctx, target } = setup();
    const t = target('tg_1', { host: 'a' });
    await withConnector(ctx, t, () => Promise.resolve());
    await withConnector(ctx, t, () => Promise.resolve());
    expect(made).toHaveLength(2);
    expect(made.every((m) => m.closed)).toBe(true);
  });
});

describe('keepTargetConnectors', () => {
  // issue 13 (per-target limit)
  it('the connections per target (BREAKGLASS_TARGET_CONNECTIONS) reach each kept connector\'s pool; unset leaves the pools\' default', async () => {
    const { made, ctx, target } = setup();
    keepTargetConnectors(ctx, { connectionsPerTarget: 2 });
    await withConnector(ctx, target('tg_a', { host: 'a' }), () => Promise.resolve());
    expect(made[0]?.target.poolMax).toBe(2);
    const other = setup();
    keepTargetConnectors(other.ctx);
    await withConnector(other.ctx, other.target('tg_a', { host: 'a' }), () => Promise.resolve());
    expect(other.made[0]?.target).not.toHaveProperty('poolMax');
  });

  it('gives every operation on the same target the same connector, one per target', async () => {
    const { made, ctx, target } = setup();
    const kept = keepTargetConnectors(ctx);
    const a = target('tg_a', { host: 'a', port: 5432 });
    const b = target('tg_b', { host: 'b', port: 5432 });
    const seen = new Set<Connector>();
    for (let i = 0; i < 3; i += 1) {
      await withConnector(ctx, a, (c) => Promise.resolve(seen.add(c)));
      await withConnector(ctx, b, (c) => Promise.resolve(seen.add(c)));
    }
    expect(made).toHaveLength(2);
    expect(seen.size).toBe(2);
    expect(made.some((m) => m.closed)).toBe(false);
    // The admin secret was unsealed for the connector, once.
    expect(made[0]?.target.adminSecret).toBe('admin-pw');
    expect(kept.size()).toBe(2);
  });

  it('a change of settings makes a new connector; the old one closes after the work it had in hand', async () => {
    const { made, ctx, target } = setup();
    keepTargetConnectors(ctx);
    let finish!: () => void;
    const inFlight = withConnector(ctx, target('tg_1', { host: 'old' }), () => new Promise<void>((resolve) => (finish = resolve)));
    await withConnector(ctx, target('tg_1', { host: 'new' }), () => Promise.resolve());
    expect(made.map((m) => m.target.settings['host'])).toEqual(['old', 'new']);
    expect(made[0]?.closed).toBe(false);
    finish();
    await inFlight;
    await Promise.resolve();
    expect(made[0]?.closed).toBe(true);
    expect(made[1]?.closed).toBe(false);
    await withConnector(ctx, target('tg_1', { host: 'new' }), () => Promise.resolve());
    expect(made).toHaveLength(2);
  });

  it('a rotated admin secret (a new sealed value) makes a new connector and closes the old', async () => {
    const { made, ctx, target } = setup();
    keepTargetConnectors(ctx);
    await withConnector(ctx, target('tg_1', { host: 'h' }, 'first'), () => Promise.resolve());
    await withConnector(ctx, target('tg_1', { host: 'h' }, 'second'), () => Promise.resolve());
    expect(made.map((m) => m.target.adminSecret)).toEqual(['first', 'second']);
    await Promise.resolve();
    expect(made[0]?.closed).toBe(true);
  });

  it('settings a connector refuses leave the kept one in place', async () => {
    const { made, ctx, target } = setup();
    const refusing: ConnectorFactory = (t) => {
      if (t.settings['host'] === 'bad') throw new Error('invalid settings');
      return ctx.connectors(t);
    };
    const refusingCtx = { connectors: refusing, vault: ctx.vault };
    keepTargetConnectors(refusingCtx);
    await withConnector(refusingCtx, target('tg_1', { host: 'good' }), () => Promise.resolve());
    await expect(withConnector(refusingCtx, target('tg_1', { host: 'bad' }), () => Promise.resolve())).rejects.toThrow('invalid settings');
    expect(made[0]?.closed).toBe(false);
  });

  it('connectors without a pool (exec, ssh, unix, …) are still made for each call and closed after', async () => {
    const { made, ctx, target } = setup();
    const kept = keepTargetConnectors(ctx);
    const script = target('tg_exec', { command: '/opt/x' }, 'pw', 'exec');
    await withConnector(ctx, script, () => Promise.resolve());
    await withConnector(ctx, script, () => Promise.resolve());
    expect(made.map((m) => m.closed)).toEqual([true, true]);
    expect(kept.size()).toBe(0);
  });

  it('close closes every kept connector; later operations make and close their own', async () => {
    const { made, ctx, target } = setup();
    const kept = keepTargetConnectors(ctx);
    await withConnector(ctx, target('tg_1', { host: 'h' }), () => Promise.resolve());
    await withConnector(ctx, target('tg_2', { host: 'h' }), () => Promise.resolve());
    await kept.close();
    expect(made.map((m) => m.closed)).toEqual([true, true]);
    await withConnector(ctx, target('tg_1', { host: 'h' }), () => Promise.resolve());
    expect(made).toHaveLength(3);
    expect(made[2]?.closed).toBe(true);
  });
});
