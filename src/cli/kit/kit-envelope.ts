/**
 * One printable envelope per custodian: a self-contained HTML page (inline CSS and SVG, no
 * script, nothing fetched, a CSP that forbids fetching) that prints on one or two A4/Letter
 * pages. With a share it carries the share as grouped text and as a QR code; without, a box
 * where the custodian attaches or writes it. Print to PDF from the browser for a PDF copy.
 */
import QRCode from 'qrcode';
import type { KitDocument } from '../../api/index.js';
import { describeTarget } from './kit-document.js';
import { kitInstructions, shareFileName } from './kit-instructions.js';
import { isEncryptedShare } from './kit-encrypted-share.js';

type Custodian = KitDocument['custodians'][number];

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** Escapes, then turns `command` spans into <code>. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** The share text in groups of 5 characters, 6 groups a line: easy to read out and to type. */
export function shareLines(share: string, groupSize = 5, groupsPerLine = 6): string[] {
  const compact = share.replace(/\s+/g, '');
  const groups = compact.match(new RegExp(`.{1,${groupSize}}`, 'g')) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += groupsPerLine) lines.push(groups.slice(i, i + groupsPerLine).join(' '));
  return lines;
}

/** The QR code of a share as inline SVG (error correction M: survives a crease or a stain). */
export async function shareQrSvg(share: string): Promise<string> {
  return QRCode.toString(share.replace(/\s+/g, ''), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

const style = `
  @page { size: auto; margin: 14mm; }
  * { box-sizing: border-box; }
  body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #000; background: #fff; max-width: 190mm; margin: 0 auto; padding: 6mm; }
  h1 { font-size: 17pt; margin: 0 0 2mm; }
  h2 { font-size: 12.5pt; margin: 0 0 2mm; border-bottom: 1px solid #000; }
  .mark { font-weight: 700; letter-spacing: .08em; text-transform: uppercase; border: 2px solid #000; padding: 1mm 2mm; display: inline-block; margin: 0 0 3mm; }
  section { margin: 0 0 5mm; break-inside: avoid; page-break-inside: avoid; }
  table.facts { border-collapse: collapse; width: 100%; }
  table.facts th { text-align: left; font-weight: 600; padding: .6mm 3mm .6mm 0; white-space: nowrap; vertical-align: top; width: 32mm; }
  table.facts td { padding: .6mm 0; word-break: break-all; }
  code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
  code { font-size: 9.5pt; background: #f2f2f2; padding: 0 .8mm; word-break: break-all; }
  .warn { border: 2px solid #000; background: #f2f2f2; padding: 2mm 3mm; font-weight: 600; }
  .share-box { display: flex; gap: 6mm; align-items: flex-start; border: 2px solid #000; padding: 4mm; }
  .qr svg { width: 58mm; height: 58mm; display: block; }
  table.share-text { border-collapse: collapse; font-size: 12pt; letter-spacing: .06em; }
  table.share-text td { padding: .4mm 2mm; white-space: pre; }
  table.share-text td.ln { color: #555; font-size: 8pt; user-select: none; text-align: right; }
  .attach { border: 3px dashed #000; min-height: 75mm; padding: 4mm; display: flex; flex-direction: column; justify-content: space-between; }
  .attach strong { font-size: 13pt; text-transform: uppercase; }
  ol { margin: 0; padding-left: 6mm; } li { margin: 0 0 1.2mm; }
  footer { font-size: 9pt; border-top: 1px solid #000; padding-top: 2mm; }
  @media print { body { padding: 0; } .warn, code { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
`;

function factsTable(kit: KitDocument, custodian: Custodian): string {
  const rows: [string, string][] = [
    ['Kit serial', kit.kitSerial],
    ['Ceremony key id', kit.kid],
    ['Account', kit.account],
    ['Login', kit.username],
    ['Target', describeTarget(kit)],
    ['Quorum', `${kit.threshold} of ${kit.custodians.length} custodians`],
    ['Custodians', kit.custodians.map((c) => c.name).join(', ')],
    ['This custodian', custodian.name],
    ['Share fingerprint', custodian.fingerprint],
    ['Secret version', String(kit.secretVersion)],
    ['Issued', kit.issuedAt],
  ];
  const body = rows.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td class="${key.includes('serial') || key.includes('fingerprint') || key.includes('key id') ? 'mono' : ''}">${escapeHtml(value)}</td></tr>`);
  return `<table class="facts">${body.join('')}</table>`;
}

// issue 12 (P4): a share encrypted to the custodian's registered key opens only with their key file.
const encryptedNote = (custodian: string) =>
  `<p class="warn">This share is encrypted to ${escapeHtml(custodian)}'s own key (bgshare1e.&hellip;): opening the kit needs ${escapeHtml(custodian)}'s key file too, the one made with <code>breakglass custodian keygen</code>. Give it to <code>breakglass kit open</code> with <code>--identity KEYFILE</code>. Keep the key file apart from this envelope.</p>\n`;

async function shareSection(kit: KitDocument, custodian: Custodian, share: string | undefined): Promise<string> {
  const name = escapeHtml(custodian.name);
  if (share === undefined) {
    return `<section class="share no-share">
<h2>Share of ${name}</h2>
<p class="warn">WARNING: this envelope holds NO share. Attach ${name}'s share (the bgshare1.&hellip; text from the key ceremony) or write it in the box below before the envelope is sealed; without it ${name} cannot help open the kit.</p>
<div class="attach"><strong>Attach or write the share of ${name} here</strong><span>Share fingerprint: <span class="mono">${escapeHtml(custodian.fingerprint)}</span></span></div>
</section>`;
  }
  const lines = shareLines(share).map((line, i) => `<tr><td class="ln">${i + 1}</td><td class="mono">${escapeHtml(line)}</td></tr>`);
  return `<section class="share">
<h2>Share of ${name}</h2>
<p class="warn">This page holds ${name}'s share. Any ${kit.threshold} shares together with sealed.json reveal the credential of ${escapeHtml(kit.account)}: keep the envelope sealed in a safe place; never photograph, copy, scan into a shared system or e-mail it.</p>
<div class="share-box"><div class="qr">${await shareQrSvg(share)}</div><table class="share-text">${lines.join('')}</table></div>
<p>Type the characters into <code>${escapeHtml(shareFileName(custodian.name))}</code> exactly as printed (the spaces, line breaks and line numbers are not part of it), or scan the QR code. A typo is detected by the share's checksum.</p>
${isEncryptedShare(share) ? encryptedNote(custodian.name) : ''}</section>`;
}

/**
 * The envelope of one custodian. `share` is that custodian's share text, or undefined for an
 * envelope the custodian completes by hand.
 * @example await renderEnvelope(kit, kit.custodians[0], shares.carol)
 */
export async function renderEnvelope(kit: KitDocument, custodian: Custodian, share: string | undefined): Promise<string> {
  const steps = kitInstructions(kit);
  const list = (items: readonly string[]) => `<ol>${items.map((item) => `<li>${prose(item)}</li>`).join('')}</ol>`;
  const title = `Breakglass offline kit ${kit.account}: envelope of ${custodian.name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header>
<p class="mark">Confidential: Breakglass custodian envelope</p>
<h1>Offline kit of ${escapeHtml(kit.account)}</h1>
<p>Envelope of custodian <strong>${escapeHtml(custodian.name)}</strong>. Any ${kit.threshold} of the ${kit.custodians.length} custodians together can open this kit when Breakglass is down.</p>
</header>
<section>${factsTable(kit, custodian)}</section>
${await shareSection(kit, custodian, share)}
<section>
<h2>When</h2>
<p>${prose(steps.when)}</p>
</section>
<section>
<h2>How to open the kit offline</h2>
${list(steps.open)}
</section>
<section>
<h2>Afterwards</h2>
${list(steps.after)}
</section>
<footer>While Breakglass runs, <code>${escapeHtml(`breakglass kit status ${kit.account} --sealed sealed.json`)}</code> tells whether this kit is still current. sealed.json goes stale whenever the secret is rotated: export it again (this envelope stays valid). A new key ceremony makes this envelope stale too: then destroy it and keep the new one.</footer>
</body>
</html>
`;
}
