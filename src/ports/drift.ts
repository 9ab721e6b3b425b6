/**
 * Drift findings (issue 10, point 2): what a scan of the targets saw that no live case explains.
 * One open finding per (account, kind, subject); it stays open, its `lastSeen` moving, while the
 * scan keeps seeing it, and is resolved the first scan that does not.
 */
export const driftKinds = ['enabled-outside-case', 'secret-changed', 'sessions-outside-case', 'ephemeral-leftover', 'certificate-not-in-krl', 'drill-overdue',
  // issue 12 (P1): the account's privileges on the target differ from what the catalog declares.
  'privileges-differ',
] as const;
export type DriftKind = (typeof driftKinds)[number];

export interface DriftFinding {
  /** `drf_…` */
  readonly id: string;
  /** The account's name in the catalog. */
  readonly account: string;
  readonly kind: DriftKind;
  /** What the finding is about on the account: its principal, or the grant of a leftover credential. */
  readonly subject: string;
  /** For people; never a secret, never server text from a statement that held one. */
  readonly detail: string;
  readonly firstSeen: Date;
  readonly lastSeen: Date;
  readonly resolvedAt: Date | undefined;
  readonly ackedBy: string | undefined;
  readonly ackedReason: string | undefined;
}

/** Must run inside `Store.transaction`. */
export interface DriftRepository {
  /** The findings not yet resolved, oldest first. */
  listOpen(): Promise<DriftFinding[]>;
  /** Open findings, then the resolved ones (newest first), at most `limit` in all. */
  list(limit: number): Promise<DriftFinding[]>;
  find(id: string): Promise<DriftFinding | undefined>;
  /**
   * Records a new open finding; false (nothing written) when one is already open for its
   * account, kind and subject (another instance's scan got there first).
   */
  insert(finding: DriftFinding): Promise<boolean>;
  /** Seen again: moves `lastSeen` and refreshes the detail. */
  seen(id: string, at: Date, detail: string): Promise<void>;
  /** Compare-and-set on `resolved_at` being unset: true for the one call that resolved it. */
  resolve(id: string, at: Date): Promise<boolean>;
  acknowledge(id: string, by: string, reason: string): Promise<void>;
}
