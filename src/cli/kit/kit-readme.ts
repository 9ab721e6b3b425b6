/** README.txt of an exported kit directory: the same instructions as the envelopes, in plain text. */
import type { KitDocument } from '../../api/index.js';
import { describeTarget } from './kit-document.js';
import { kitInstructions } from './kit-instructions.js';

/**
 * Wraps a paragraph at `width` columns, continuation lines indented by `indent`. A `command`
 * span is never broken, so it can be copied from the file as one line.
 */
function wrap(text: string, width: number, indent: string, first = indent): string {
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const word of text.match(/`[^`]*`\S*|\S+/g) ?? []) {
    if (!fresh && line.length + 1 + word.length > width) {
      lines.push(line.trimEnd());
      line = indent;
      fresh = true;
    }
    line += (fresh ? '' : ' ') + word;
    fresh = false;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

const numbered = (items: readonly string[]) => items.map((item, i) => wrap(item, 78, '    ', `${String(i + 1).padStart(2)}. `)).join('\n');

/** @example renderReadme(kit, ['sealed.json', 'envelope-carol.html'], true) */
export function renderReadme(kit: KitDocument, files: readonly string[], withShares: boolean): string {
  const steps = kitInstructions(kit);
  const facts: [string, string][] = [
    ['Kit serial', kit.kitSerial],
    ['Ceremony key id', kit.kid],
    ['Account', kit.account],
    ['Login', kit.username],
    ['Target', describeTarget(kit)],
    ['Quorum', `${kit.threshold} of ${kit.custodians.length} custodians`],
    ['Issued', kit.issuedAt],
  ];
  const width = Math.max(...facts.map(([key]) => key.length));
  const custodians = kit.custodians.map((c) => `  ${c.name.padEnd(Math.max(...kit.custodians.map((x) => x.name.length)))}  share fingerprint ${c.fingerprint}`);
  const handling = withShares
    ? 'Each envelope in this directory holds its custodian\'s share, so the directory as a whole opens the kit: print each envelope, seal it and hand it to its custodian only, then delete the envelope files (and the ceremony output they came from). Never keep the envelopes together.'
    : 'The envelopes in this directory hold no share: each custodian attaches or writes their own share (from the key ceremony) in their envelope before it is sealed.';
  return [
    `BREAKGLASS OFFLINE KIT: ${kit.account}`,
    '',
    ...facts.map(([key, value]) => `${key.padEnd(width)}  ${value}`),
    '',
    'Custodians:',
    ...custodians,
    '',
    'Files:',
    ...files.map((file) => `  ${file}`),
    '',
    wrap('sealed.json holds the credential encrypted to the account key; the key exists only as the custodians\' shares. It is not a secret on its own and may be copied next to each envelope. It goes stale when the secret is rotated: export it again (`breakglass kit export`), and check it with `breakglass kit status ' + kit.account + ' --sealed sealed.json`. The envelopes stay valid until the next key ceremony.', 78, ''),
    '',
    wrap(handling, 78, ''),
    '',
    'WHEN',
    wrap(steps.when, 78, '    ', '    '),
    '',
    'HOW TO OPEN THE KIT OFFLINE',
    numbered(steps.open),
    '',
    'AFTERWARDS',
    numbered(steps.after),
    '',
  ].join('\n');
}
