/**
 * Building and writing an exported kit directory: sealed.json, one envelope per custodian,
 * README.txt. Everything is rendered in memory first, so a bad shares file or kit writes nothing.
 * Each file is written to `NAME.tmp` with mode 0600, synced and renamed into place.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ceremonySharesSchema, tolerant, type KitDocument } from '../../api/index.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { writePrivateFile } from '../private-file.js';
import { renderEnvelope } from './kit-envelope.js';
import { renderReadme } from './kit-readme.js';
import { checkShareForKit, parseShareFile } from './kit-open.js';
import { isEncryptedShare, parseEncryptedShare } from './kit-encrypted-share.js';

export interface KitFile {
  readonly name: string;
  readonly content: string;
  /** True for an envelope that carries its custodian's share. */
  readonly holdsShare: boolean;
}

export const envelopeFileName = (custodian: string) => `envelope-${custodian}.html`;

const usage = (message: string) => new CliError(exitCodes.usage, message);

/**
 * The shares of `breakglass ceremony ACCOUNT --json` (`{"shares": {"carol": "bgshare1…"}}`),
 * each checked against the kit: right account and ceremony, filed under its own holder, matching
 * that custodian's fingerprint; one for every custodian. Messages never quote a share.
 */
export function ceremonyShares(kit: KitDocument, text: string, source: string): Map<string, string> {
  const notCeremony = `${source} is not the output of \`breakglass ceremony ${kit.account} --json\``;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw usage(`${notCeremony} (not JSON)`);
  }
  const parsed = tolerant(ceremonySharesSchema).safeParse(json);
  if (!parsed.success) throw usage(`${notCeremony} (it needs {"shares": {"<custodian>": "bgshare1…"}})`);
  const shares = new Map<string, string>();
  for (const [holder, shareText] of Object.entries(parsed.data.shares)) {
    if (!kit.custodians.some((c) => c.name === holder)) throw usage(`${source}: ${holder} is not a custodian of this kit (custodians: ${kit.custodians.map((c) => c.name).join(', ')})`);
    if (isEncryptedShare(shareText)) {
      // issue 12 (P4): encrypted to the custodian's registered key. Only they can open it, so
      // only its holder is checked here; `kit open --identity` checks the rest.
      const encrypted = parseEncryptedShare(shareText, `${source} (share of ${holder})`);
      if (encrypted.holder !== holder) throw usage(`${source}: the share filed under ${holder} belongs to ${encrypted.holder}`);
      shares.set(holder, shareText.replace(/\s+/g, ''));
      continue;
    }
    const share = parseShareFile({ source: `${source} (share of ${holder})`, text: shareText });
    try {
      if (share.holder !== holder) throw usage(`${source}: the share filed under ${holder} belongs to ${share.holder}`);
      checkShareForKit(kit, share, source);
    } finally {
      share.share.fill(0);
    }
    shares.set(holder, shareText.replace(/\s+/g, ''));
  }
  const missing = kit.custodians.filter((c) => !shares.has(c.name)).map((c) => c.name);
  if (missing.length > 0) throw usage(`${source} has no share for ${missing.join(', ')}; every envelope needs its custodian's share (or leave out --shares)`);
  return shares;
}

/** sealed.json, the envelopes and README.txt, rendered; `shares` from `ceremonyShares` or none. */
export async function renderKitFiles(kit: KitDocument, shares: ReadonlyMap<string, string> | undefined): Promise<KitFile[]> {
  const files: KitFile[] = [{ name: 'sealed.json', content: `${JSON.stringify(kit, null, 2)}\n`, holdsShare: false }];
  for (const custodian of kit.custodians) {
    const share = shares?.get(custodian.name);
    files.push({ name: envelopeFileName(custodian.name), content: await renderEnvelope(kit, custodian, share), holdsShare: share !== undefined });
  }
  const names = [...files.map((f) => f.name), 'README.txt'];
  files.push({ name: 'README.txt', content: renderReadme(kit, names, shares !== undefined), holdsShare: false });
  return files;
}

function writePrivate(path: string, content: string): Promise<void> {
  return writePrivateFile(path, (file) => file.writeFile(content, 'utf8'));
}

/**
 * Creates `dir` (0700) if needed and writes the files (0600). A directory other users can
 * enter is refused when envelopes carry shares, and warned about otherwise.
 * @returns the paths written, in order
 */
export async function writeKitDir(dir: string, files: readonly KitFile[], warn: (text: string) => void): Promise<string[]> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new CliError(exitCodes.usage, `${dir}: cannot create the directory (${(error as { code?: string }).code ?? 'error'})`, { cause: error });
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw usage(`${dir} is not a directory`);
  const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
  if ((info.mode & 0o077) !== 0) {
    if (files.some((f) => f.holdsShare)) throw usage(`${dir} is accessible to other users (mode ${mode}); envelopes with shares need a private directory: chmod 700 it or use a new one`);
    warn(`warning: ${dir} is accessible to other users (mode ${mode}); the files in it are 0600`);
  }
  const paths: string[] = [];
  for (const file of files) {
    const path = join(dir, file.name);
    await writePrivate(path, file.content);
    paths.push(path);
  }
  return paths;
}
