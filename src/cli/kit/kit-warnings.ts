/**
 * issue 12 (P4): what `kit open` says loudly about a sealed.json that may be stale. The kit
 * records when it was issued (`issuedAt`) and the account's rotation count (`secretVersion`):
 * every rotation seals a new secret and makes the older sealed.json open a dead one. Offline,
 * staleness cannot be proven, only suspected (old) or known (a newer version was seen).
 */
import type { KitDocument } from '../../api/index.js';

export interface StalenessCheck {
  readonly now: Date;
  /** Warn when the kit was issued longer ago than this; undefined: never. */
  readonly maxAgeMs: number | undefined;
  /** A secret version known to exist (`--expect-version`); warn when the kit's is older. */
  readonly expectVersion: number | undefined;
}

const DAY = 86_400_000;

function age(ms: number): string {
  if (ms >= 2 * DAY) return `${Math.floor(ms / DAY)} days`;
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.max(0, Math.floor(ms / 60_000))} minutes`;
}

/** The warnings for this kit, empty when none applies. Never refuses: the kit may be all there is. */
export function kitStaleness(kit: KitDocument, check: StalenessCheck): string[] {
  const warnings: string[] = [];
  if (check.expectVersion !== undefined && kit.secretVersion < check.expectVersion) {
    warnings.push(
      `this kit seals secret version ${kit.secretVersion} (serial ${kit.kitSerial}), but version ${check.expectVersion} exists: ` +
        'the secret was rotated since this sealed.json was exported, so the credential below is most likely dead. Use the newest sealed.json.',
    );
  }
  const issued = Date.parse(kit.issuedAt);
  if (check.maxAgeMs !== undefined) {
    if (Number.isNaN(issued)) {
      warnings.push(`this kit has no readable issue date (${JSON.stringify(kit.issuedAt.slice(0, 40))}); it may be stale`);
    } else if (check.now.getTime() - issued > check.maxAgeMs) {
      warnings.push(
        `this kit was issued ${age(check.now.getTime() - issued)} ago (${kit.issuedAt}, secret version ${kit.secretVersion}): ` +
          'if the secret was rotated since, the credential below is dead. Prefer a newer sealed.json; check with `breakglass kit status` when Breakglass is up.',
      );
    }
  }
  return warnings;
}
