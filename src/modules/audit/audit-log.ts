import { linkEvents, signCheckpoint } from '../../crypto/index.js';
import type { AuditAction } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AuditEventRecord, CheckpointRecord, Clock, StoreTx } from '../../ports/index.js';

export interface AuditEntry {
  /** User name, or `system` for work the engine does by itself. */
  readonly actor: string;
  /** A name from the closed list of the domain (`auditActions`), past tense: `grant.revealed`. */
  readonly action: AuditAction;
  /** What it happened to: a grant id, an account name, … */
  readonly subject: string;
  /** Never a secret. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Appends to the tamper-evident chain (DESIGN.md §4). `append` takes the transaction of the
 * state change it records: both commit together or neither does (invariant I2).
 */
/**
 * Runs in the transaction of each append, after the event is written: the alerts outbox hangs
 * here, so no use case can record a change without announcing it. A throw rolls both back.
 */
export type AppendHook = (tx: StoreTx, record: AuditEventRecord) => Promise<void>;

/** Runs in the transaction of each signed checkpoint, after it is written (the audit stream). */
export type CheckpointHook = (tx: StoreTx, checkpoint: CheckpointRecord) => Promise<void>;

export interface AuditLog {
  append(tx: StoreTx, entry: AuditEntry): Promise<AuditEventRecord>;
  // issue 13 (audit)
  /**
   * Appends several events in one go, in order, in the transaction of the changes they record:
   * one head lock, the hashes chained in memory, one INSERT, then the hooks of each event in
   * order, then at most one checkpoint. The events are the ones `append` called for each entry in
   * turn would write (one clock reading for all). Fails closed like `append`: nothing is written.
   *
   * @example
   * await ctx.store.transaction((tx) => ctx.audit.appendMany(tx, expired.map((grant) => ({ actor: 'system', action: 'grant.expired', subject: grant.id }))));
   */
  appendMany(tx: StoreTx, entries: readonly AuditEntry[]): Promise<AuditEventRecord[]>;
  /** Adds a hook every later append runs (the composition root wires the outbox once). */
  onAppend(hook: AppendHook): void;
  /** Adds a hook every later signed checkpoint runs. */
  onCheckpoint(hook: CheckpointHook): void;
  /** Signs the head if events were appended since the last checkpoint. */
  checkpoint(tx: StoreTx): Promise<boolean>;
  readonly publicKeyPem: string;
}

/** Checkpoints are signed at least every second of activity. */
const checkpointIntervalMs = 1_000;

export function createAuditLog(deps: { clock: Clock; privateKeyPem: string; publicKeyPem: string }): AuditLog {
  const sign = async (tx: StoreTx, seq: number, hash: string, at: Date) => {
    const checkpoint = signCheckpoint(deps.privateKeyPem, { seq, hash, at: at.toISOString() });
    const record: CheckpointRecord = { ...checkpoint, at };
    await tx.audit.insertCheckpoint(record);
    for (const hook of checkpointHooks) await hook(tx, record);
  };
  const hooks: AppendHook[] = [];
  const checkpointHooks: CheckpointHook[] = [];
  // issue 13 (audit): one path for one event and for many.
  const appendAll = async (tx: StoreTx, entries: readonly AuditEntry[]): Promise<AuditEventRecord[]> => {
    if (entries.length === 0) return [];
    const head = await tx.audit.lockHead();
    const at = deps.clock.now();
    const iso = at.toISOString();
    const events = entries.map((entry, i) => ({
      seq: head.seq + 1 + i,
      at: iso,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details: { ...(entry.details ?? {}) },
    }));
    const records = linkEvents(head.hash, events).map((row) => ({ ...row, at }));
    try {
      await tx.audit.insertMany(records);
    } catch (cause) {
      // Fail closed: the caller's transaction rolls back, so the action is not taken.
      const names = [...new Set(entries.map((entry) => entry.action))].join('", "');
      throw new AppError('audit_failed', `the audit event "${names}" could not be written; the action was not taken`, { cause });
    }
    // The hooks before the checkpoint: a streamed copy gets each event before the checkpoint that signs it.
    const written: AuditEventRecord[] = records.map(({ detailsJson: _canonical, ...record }) => record);
    for (const record of written) for (const hook of hooks) await hook(tx, record);
    const last = head.checkpointAt?.getTime() ?? Number.NEGATIVE_INFINITY;
    const newest = written.at(-1)!;
    if (at.getTime() - last >= checkpointIntervalMs) await sign(tx, newest.seq, newest.hash, at);
    return written;
  };
  return {
    publicKeyPem: deps.publicKeyPem,
    onAppend: (hook) => void hooks.push(hook),
    onCheckpoint: (hook) => void checkpointHooks.push(hook),
    async append(tx, entry) {
      const [record] = await appendAll(tx, [entry]);
      return record!;
    },
    appendMany: (tx, entries) => appendAll(tx, entries),
    async checkpoint(tx) {
      const head = await tx.audit.lockHead();
      if (head.seq === 0) return false;
      if ((await tx.audit.lastCheckpoint())?.seq === head.seq) return false;
      await sign(tx, head.seq, head.hash, deps.clock.now());
      return true;
    },
  };
}
