const units = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const pattern = /^([1-9][0-9]{0,6})(s|m|h|d)$/;

/**
 * Parses a duration such as `10s`, `15m`, `1h` or `2d` into milliseconds.
 * Returns undefined for anything else, so callers can report where the bad value was.
 * @example parseDuration('15m') === 900_000
 */
export function parseDuration(text: string): number | undefined {
  const match = pattern.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof units];
  return Number(amount) * units[unit];
}

/** The shortest exact form: 90_000 → `90s`, 900_000 → `15m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (ms >= units[unit] && ms % units[unit] === 0) return `${ms / units[unit]}${unit}`;
  }
  return `${Math.ceil(ms / 1000)}s`;
}
