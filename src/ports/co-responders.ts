import type { GrantId, UserId } from '../domain/index.js';

/** Issue 11 (H2): someone who joined a live pre-staged case, with their own one reveal. */
export interface CoResponder {
  readonly grantId: GrantId;
  readonly userId: UserId;
  readonly userName: string;
  readonly reason: string;
  readonly joinedAt: Date;
  readonly revealedAt: Date | undefined;
}

export interface CoResponderRepository {
  /** Adds a co-responder; `false` when they had already joined this case. */
  add(coResponder: Omit<CoResponder, 'revealedAt'>): Promise<boolean>;
  /** In the order they joined. */
  list(grantId: GrantId): Promise<CoResponder[]>;
  find(grantId: GrantId, userId: UserId): Promise<CoResponder | undefined>;
  /** Records their one reveal; `false` when it was already recorded (compare-and-set). */
  markRevealed(grantId: GrantId, userId: UserId, at: Date): Promise<boolean>;
}
