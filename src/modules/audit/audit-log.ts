import { hashEvent, signCheckpoint } from '../../crypto/index.js';
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
  return {
    publicKeyPem: deps.publicKeyPem,
    onAppend: (hook) => void hooks.push(hook),
    onCheckpoint: (hook) => void checkpointHooks.push(hook),
    async append(tx, entry) {
      const head = await tx.audit.lockHead();
      const at = deps.clock.now();
      const event = {
        seq: head.seq + 1,
        at: at.toISOString(),
        actor: entry.actor,
        action: entry.action,
        subject: entry.subject,
        details: { ...(entry.details ?? {}) },
      };
      const record: AuditEventRecord = { ...event, at, prevHash: head.hash, hash: hashEvent(head.hash, event) };
      try {
        await tx.audit.insert(record);
      } catch (cause) {
        // Fail closed: the caller's transaction rolls back, so the action is not taken.
        throw new AppError('audit_failed', `the audit event "${entry.action}" could not be written; the action was not taken`, { cause });
      }
      // The hooks before the checkpoint: a streamed copy gets the event before the checkpoint that signs it.
      for (const hook of hooks) await hook(tx, record);
      const last = head.checkpointAt?.getTime() ?? Number.NEGATIVE_INFINITY;
      if (at.getTime() - last >= checkpointIntervalMs) await sign(tx, record.seq, record.hash, at);
      return record;
    },
    async checkpoint(tx) {
      const head = await tx.audit.lockHead();
      if (head.seq === 0) return false;
      if ((await tx.audit.lastCheckpoint())?.seq === head.seq) return false;
      await sign(tx, head.seq, head.hash, deps.clock.now());
      return true;
    },
  };
}
