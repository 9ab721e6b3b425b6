/* eslint-disable no-control-regex -- these tests look for control characters on purpose */
/**
 * Terminal output is safe: text stored on the server (a responder's reason, an incident
 * reference, a certification note, an error message) cannot act on the terminal of the person
 * reading it. Control characters are shown as escapes; our own colours still work; `--json`
 * stays exact JSON.
 */
import { describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from './program.js';

const hostileReason = 'db down\u001b[1A\u001b[2K\rstate      closed\u009b2J';
const grant = {
  id: 'gr_01J9ZB6D4N2MABCD',
  account: 'pg-breakglass',
  state: 'active',
  mode: 'prestaged',
  condition: 'outage',
  reason: hostileReason,
  incident: 'INC-1\u202e24-CNI',
  requester: 'alice',
  createdAt: '2025-06-01T10:00:00.000Z',
  expiresAt: '2025-06-01T10:15:00.000Z',
  certification: { by: 'bob', at: '2025-06-01T11:00:00.000Z', necessary: true, scoped: true, removed: true, note: 'fine\nnote  forged' },
};

async function run(answer: { status: number; body: unknown }, args: string[], tty = true) {
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    init: () => Promise.reject(new Error('unused')),
    serve: () => Promise.reject(new Error('unused')),
    verifyFile: () => Promise.reject(new Error('unused')),
    verifyDataDir: () => Promise.reject(new Error('unused')),
    env: { BREAKGLASS_TOKEN: 'bgt_token' },
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    fetch: () => Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } })),
    stdoutIsTTY: tty,
  };
  const code = await runCli(['node', 'breakglass', ...args], deps);
  return { code, stdout, stderr };
}

/** What is left once our own colours (SGR sequences written by the CLI's style) are taken out. */
const withoutOurColours = (text: string) => text.replace(/\u001b\[\d+m/g, '');

describe('terminal output is safe', () => {
  it('terminal output is safe: an escape sequence in a stored reason is printed escaped', async () => {
    const shown = await run({ status: 200, body: grant }, ['grant', 'show', grant.id]);
    expect(shown.code).toBe(0);
    // Colours are on (a terminal), and they are the only escape sequences on the screen.
    expect(shown.stdout).toContain('\u001b[');
    expect(withoutOurColours(shown.stdout)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(shown.stdout).toContain('db down\\x1b[1A\\x1b[2K\\rstate      closed\\x9b2J');
    expect(shown.stdout).toContain('INC-1\\u202e24-CNI');
    // A newline in a stored value cannot start a line of its own that looks like a field.
    expect(shown.stdout).toContain('fine\\nnote  forged');
    expect(shown.stdout.split('\n').filter((line) => line.startsWith('note'))).toHaveLength(0);
    // --json prints the stored text exactly, as JSON.
    const asJson = await run({ status: 200, body: grant }, ['grant', 'show', grant.id, '--json']);
    expect((JSON.parse(asJson.stdout) as { reason: string }).reason).toBe(hostileReason);
  });

  it('terminal output is safe: a table of grants shows stored text escaped, one line per grant', async () => {
    const listed = await run({ status: 200, body: { grants: [grant, { ...grant, id: 'gr_01J9ZB6D4N2MABCE', incident: 'INC-2\nforged' }] } }, ['grants']);
    expect(listed.code).toBe(0);
    expect(withoutOurColours(listed.stdout)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(listed.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(listed.stdout).toContain('INC-2\\nforged');
  });

  it('terminal output is safe: an error message quoting stored text is printed escaped', async () => {
    const failed = await run({ status: 409, body: { error: { code: 'conflict', message: 'refused: \u001b]0;owned\u0007 \u2066x' } } }, ['grant', 'show', grant.id]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2066]/);
    expect(failed.stderr).toContain('refused: \\x1b]0;owned\\x07 \\u2066x');
  });
});
