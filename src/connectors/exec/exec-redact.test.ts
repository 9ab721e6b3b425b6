import { describe, expect, it } from 'vitest';
import { evidence, redactSecrets } from './exec-redact.js';

describe('exec redaction', () => {
  it('removes every secret, as is and JSON-escaped, longest first', () => {
    const secret = 'pa"ss\\word';
    const text = `raw ${secret} json ${JSON.stringify({ secret })} twice ${secret}`;
    const out = redactSecrets(text, [secret, 'pa']);
    expect(out).toBe('raw [redacted] json {"secret":"[redacted]"} twice [redacted]');
    expect(redactSecrets('nothing', [''])).toBe('nothing');
  });

  it('evidence is one bounded line without control characters or secrets', () => {
    const out = evidence('line one\nline\ttwo \u001b[31mred\u001b[0m \u202Eevil\r\nhunter2\n', ['hunter2'], false, 200);
    expect(out).toBe('line one line two [31mred [0m evil [redacted]');
    expect(evidence('x'.repeat(1000), [], false, 10)).toBe(`…${'x'.repeat(10)}`);
  });

  it('a secret cut in half at the start of a truncated tail does not survive', () => {
    // The tail window began in the middle of "hunter2-secret": only "ter2-secret" is left.
    const out = evidence('ter2-secret and then the real error', ['hunter2-secret'], true, 200);
    expect(out).not.toContain('ter2');
    expect(out).not.toContain('secret');
    expect(out).toContain('the real error');
  });

  it('a secret assembled by replacing control characters is still removed', () => {
    expect(evidence('my\npass', ['my pass'], false, 100)).toBe('[redacted]');
  });
});
