/**
 * The kit document (`sealed.json`, the answer of `GET /v1/accounts/{name}/kit`): reading it from
 * a file and checking that its parts agree with each other before anything is written or opened.
 */
import { readFile } from 'node:fs/promises';
import { formatIssues } from '../../config/catalog-file.js';
import { custodianKeyId, sealedKeyId } from '../../crypto/index.js';
import { kitDocumentSchema, tolerant, type KitDocument } from '../../api/index.js';
import { CliError, exitCodes } from '../exit-codes.js';

export const kitFormatVersion = 1;

/** What is wrong with a kit whose fields parse but do not fit together; empty when it is sound. */
export function kitProblems(kit: KitDocument): string[] {
  const problems: string[] = [];
  if (kit.version !== kitFormatVersion) {
    problems.push(`the kit has format version ${kit.version}; this breakglass CLI reads version ${kitFormatVersion} (upgrade the CLI)`);
    return problems;
  }
  let kid: string | undefined;
  try {
    kid = custodianKeyId(kit.publicKey);
  } catch {
    kid = undefined;
  }
  if (kid !== kit.kid) problems.push('its key id does not belong to its public key');
  if (sealedKeyId(kit.sealed) !== kit.kid) problems.push('the sealed credential was not sealed to its key');
  if (kit.kitSerial !== `${kit.kid}.${kit.secretVersion}`) problems.push(`its serial ${kit.kitSerial} is not <kid>.<secret version>`);
  if (kit.threshold > kit.custodians.length) problems.push(`it needs ${kit.threshold} shares but names ${kit.custodians.length} custodians`);
  const names = kit.custodians.map((c) => c.name.toLowerCase());
  if (new Set(names).size !== names.length) problems.push('it names a custodian twice');
  return problems;
}

/**
 * Reads and checks a `sealed.json`. Every problem is a usage error (exit 2) naming the file: a
 * responder must learn at once that the file, not the shares, is at fault.
 */
export async function readKitFile(file: string): Promise<KitDocument> {
  const text = await readSmallFile(file, 1024 * 1024);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(exitCodes.usage, `${file} is not a Breakglass kit (not JSON); use the sealed.json written by \`breakglass kit export\``);
  }
  const parsed = tolerant(kitDocumentSchema).safeParse(json);
  if (!parsed.success) {
    const format = (json as { format?: unknown } | null)?.format;
    const why = format === 'breakglass-kit' ? formatIssues(parsed.error).join('; ') : 'it has no "format": "breakglass-kit"';
    throw new CliError(exitCodes.usage, `${file} is not a Breakglass kit: ${why}`);
  }
  const problems = kitProblems(parsed.data);
  if (problems.length > 0) throw new CliError(exitCodes.usage, `${file} is damaged or altered: ${problems.join('; ')}`);
  return parsed.data;
}

/** A file read whole, with a size limit and errors that name it; the content is never quoted. */
export async function readSmallFile(file: string, maxBytes: number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : 'cannot read it';
    throw new CliError(exitCodes.usage, `${file}: ${reason}`, { cause: error });
  }
  if (bytes.length > maxBytes) throw new CliError(exitCodes.usage, `${file}: too large (${bytes.length} bytes) for what it should hold`);
  return bytes.toString('utf8');
}

/** `host:port`, or what of it the target has. */
export function targetAddress(kit: KitDocument): string {
  const { host, port } = kit.target;
  if (host === undefined) return '';
  return port === undefined ? host : `${host}:${port}`;
}

/** "prod-pg (postgres, 127.0.0.1:5432)" */
export function describeTarget(kit: KitDocument): string {
  const address = targetAddress(kit);
  return `${kit.target.name} (${kit.target.type}${address === '' ? '' : `, ${address}`})`;
}
