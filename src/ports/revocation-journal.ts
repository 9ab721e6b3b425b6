import type { AccountMode } from '../domain/index.js';

/** One credential disabled on its target while the store could not record it. */
export interface JournalRecord {
  readonly grantId: string;
  /** When the target confirmed it, ISO 8601. */
  readonly at: string;
  readonly target: string;
  readonly principal: string;
  readonly mode: AccountMode;
}

/**
 * Evidence kept outside the store, for revocations done while the store cannot be written:
 * appended and fsync'd before the call returns, replayed onto the audit chain in order when the
 * store is back, then cleared. Must keep working on a full disk (its space is reserved).
 */
export interface RevocationJournal {
  /** Throws when the record cannot be made durable (the caller logs the evidence instead). */
  append(record: JournalRecord): void;
  /** Every record not yet cleared, oldest first. */
  records(): JournalRecord[];
  /** Forgets the first `count` records (they are on the chain now). */
  drop(count: number): void;
}
