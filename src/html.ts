import { entryCount, entryParts, safeJson, wellFormed } from './line-format';
import type { LogEntry, MailBatch } from './options';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

// Colours by severity, with enough contrast on white; unknown levels are grey.
const LEVEL_COLOURS: Record<string, string> = {
  emerg: '#8b0000',
  alert: '#8b0000',
  crit: '#8b0000',
  error: '#b00020',
  err: '#b00020',
  warn: '#9a5b00',
  warning: '#9a5b00',
  notice: '#0b5394',
  info: '#1a6b32',
  http: '#0b5394',
  verbose: '#555555',
  debug: '#555555',
  silly: '#777777',
};

function levelColour(level: string): string {
  return LEVEL_COLOURS[level.toLowerCase()] ?? '#555555';
}

function cutText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const head = Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return `${head} … [cut: ${Buffer.byteLength(text)} bytes]`;
}

const CELL = 'padding:4px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top;text-align:left;';
const PRE =
  'margin:0;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere;';

/**
 * The text/html part: a header with the counts per level and the time range, then one table row
 * per entry (time, level, message, meta). Inline styles only, since mail clients drop style
 * sheets; every piece of log text is escaped.
 */
export function renderHtml(
  entries: readonly LogEntry[],
  options: { batch: MailBatch; notices: readonly string[]; maxLineBytes: number },
): string {
  const { batch, notices, maxLineBytes } = options;
  const counts = new Map<string, number>();
  const rows = entries.map((entry) => {
    const parts = entryParts(entry);
    counts.set(parts.level, (counts.get(parts.level) ?? 0) + 1);
    const colour = levelColour(parts.level);
    const message = escapeHtml(cutText(parts.message, maxLineBytes));
    const stack = parts.stack
      ? `<pre style="${PRE}color:#666;margin-top:4px;">${escapeHtml(cutText(parts.stack, maxLineBytes))}</pre>`
      : '';
    const meta = parts.meta
      ? `<pre style="${PRE}color:#333;">${escapeHtml(cutText(safeJson(parts.meta, 2), maxLineBytes))}</pre>`
      : '';
    return (
      `<tr><td style="${CELL}white-space:nowrap;font-family:Menlo,Consolas,monospace;font-size:12px;color:#555;">${escapeHtml(parts.timestamp ?? '')}</td>` +
      `<td style="${CELL}white-space:nowrap;font-weight:bold;color:${colour};">${escapeHtml(parts.level.toUpperCase())}</td>` +
      `<td style="${CELL}"><pre style="${PRE}">${message}</pre>${stack}</td>` +
      `<td style="${CELL}width:34%;min-width:220px;">${meta}</td></tr>`
    );
  });
  const severity = (level: string) => {
    const rank = Object.keys(LEVEL_COLOURS).indexOf(level.toLowerCase());
    return rank === -1 ? Number.MAX_SAFE_INTEGER : rank;
  };
  const summary = [...counts.entries()]
    .sort(([a], [b]) => severity(a) - severity(b))
    .map(
      ([level, count]) =>
        `<span style="color:${levelColour(level)};font-weight:bold;">${escapeHtml(level.toUpperCase())} ${count}</span>`,
    )
    .join(' &middot; ');
  const range = batch.since && batch.until ? `${escapeHtml(batch.since)} &ndash; ${escapeHtml(batch.until)} (UTC)` : '';
  const part = batch.parts > 1 ? ` &middot; part ${batch.part} of ${batch.parts}` : '';
  const noticeHtml = notices
    .map(
      (notice) =>
        `<p style="margin:8px 0;padding:8px;background:#fff4e5;border-left:4px solid #9a5b00;">${escapeHtml(notice)}</p>`,
    )
    .join('');
  return wellFormed(
    '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>' +
      '<body style="margin:0;padding:16px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222;background:#ffffff;">' +
      `<h2 style="margin:0 0 4px 0;font-size:18px;">${entryCount(batch.count)} from ${escapeHtml(batch.hostname)}${part}</h2>` +
      `<p style="margin:0 0 8px 0;">${summary}${range ? ` &middot; ${range}` : ''}</p>` +
      noticeHtml +
      '<table role="presentation" cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;">' +
      `<thead><tr><th style="${CELL}">Time</th><th style="${CELL}">Level</th><th style="${CELL}">Message</th><th style="${CELL}">Meta</th></tr></thead>` +
      `<tbody>${rows.join('')}</tbody></table></body></html>`,
  );
}
