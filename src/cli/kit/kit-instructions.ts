/**
 * What a custodian reads when Breakglass is down: the same steps in every envelope and in
 * README.txt, so the printed copies never disagree. Commands are marked with backticks; the
 * HTML renderer turns them into code, the plain-text README keeps them as they are.
 */
import type { KitDocument } from '../../api/index.js';
import { describeTarget } from './kit-document.js';

export interface KitInstructions {
  readonly when: string;
  readonly open: readonly string[];
  readonly after: readonly string[];
}

/** The share file name a custodian is asked to type their share into. */
export const shareFileName = (custodian: string) => `share-${custodian}.txt`;

/** The `kit open` command line for the first k custodians of the kit (an example; any k will do). */
export function openCommand(kit: KitDocument): string {
  const files = kit.custodians.slice(0, kit.threshold).map((c) => `--share-file ${shareFileName(c.name)}`);
  return `breakglass kit open --sealed sealed.json ${files.join(' ')}`;
}

export function kitInstructions(kit: KitDocument): KitInstructions {
  const k = kit.threshold;
  const n = kit.custodians.length;
  return {
    when:
      `Use this kit only in an emergency when Breakglass itself is down or unreachable. While Breakglass works, ` +
      `invoke the account through it instead: \`breakglass invoke ${kit.account} --condition … --reason … --incident …\`.`,
    open: [
      `Gather ${k} of the ${n} custodians (${kit.custodians.map((c) => c.name).join(', ')}), each with their own envelope. No single person can open the kit.`,
      `Get the newest kit file \`sealed.json\` of ${kit.account}: its "kitSerial" starts with this ceremony's key id ${kit.kid} (serial ${kit.kitSerial} at export; the part after the dot grows with each rotation of the secret). It is encrypted; on its own it opens nothing.`,
      'Use a trusted machine with the `breakglass` command (Node.js 20 or later). No Breakglass server and no database are needed; prefer a machine without network access.',
      `Each custodian types or scans their share into a file of its own, for example \`${shareFileName(kit.custodians[0]?.name ?? 'carol')}\` (one share per file; spaces and line breaks do not matter). Keep these files on a RAM disk such as /dev/shm if you can.`,
      `Run \`${openCommand(kit)}\` with the share files of the ${k} custodians present. Each share is checked before it counts: a typo, a share of another account or of an older ceremony is refused with the reason.`,
      // issue 12 (P4): shares encrypted to a custodian's registered key (bgshare1e.…).
      'A share that starts with `bgshare1e.` is encrypted to its custodian\'s own key: that custodian adds `--identity KEYFILE` (their key file from `breakglass custodian keygen`), once per such custodian.',
      `It prints the username and password of ${kit.account} (login ${kit.username} on ${describeTarget(kit)}). Use it only for the emergency.`,
    ],
    after: [
      'Delete the share files (shred them) and clear the terminal.',
      'Report the use at once to the security team and the incident owner: who opened the kit, when, why, and what was done with the credential.',
      `The credential is now known outside Breakglass: it must be rotated. As soon as Breakglass is back, record the case through the normal process (\`breakglass invoke ${kit.account} …\`, then end and certify it) so that the secret is rotated and the use is certified.`,
      'The account key was rebuilt outside Breakglass, so the custodians hold a new key ceremony and a new kit is exported and handed out; the old envelopes and sealed.json are then destroyed.',
    ],
  };
}
