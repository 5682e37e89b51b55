// The on-disk record format of the embedded metadata log, and its replay.
//
// One record per line, UTF-8:   <crc32 as 8 hex digits> TAB <key as JSON string> TAB <value as JSON text> LF
// A delete has an empty value field. JSON.stringify escapes every control character, so neither TAB nor LF
// ever appears inside the key or value fields. The CRC32 covers the bytes between the first TAB and the LF.
// Records are only ever appended; the last record for a key wins; a compacted log is just one `set`
// record per live key, in the same format.

import { crc32 } from 'node:zlib';

const TAB = 0x09;
const LF = 0x0a;

/** The line recording `key = valueText` (valueText: the value's JSON text). */
export function setRecord(key: string, valueText: string): string {
  return line(`${JSON.stringify(key)}\t${valueText}`);
}

/** The line recording the deletion of `key`. */
export function deleteRecord(key: string): string {
  return line(`${JSON.stringify(key)}\t`);
}

function line(body: string): string {
  return `${crc32(body).toString(16).padStart(8, '0')}\t${body}\n`;
}

/** Rough size of a key's live record, used only to decide when to compact. */
export function recordSize(key: string, valueText: string): number {
  return key.length + valueText.length + 12;
}

export interface ReplayResult {
  /** Live keys → value JSON text. */
  data: Map<string, string>;
  /** Sum of recordSize over the live keys. */
  liveBytes: number;
  /** Length of the valid prefix of the log: everything after it must be cut off. */
  validBytes: number;
  /** Valid records found after the first bad one (written but never acknowledged, or media damage). */
  discardedRecords: number;
}

/**
 * Replays a log image. The log is valid up to its first bad record (a torn write, a hole of zeros, garbage);
 * every record after that point belongs to a batch whose fsync never completed, since an acknowledged
 * batch is wholly on disk, so cutting there loses nothing that was acknowledged.
 */
export function replay(buf: Buffer): ReplayResult {
  const data = new Map<string, string>();
  let liveBytes = 0;
  let validBytes = 0;
  let discardedRecords = 0;
  let bad = false;
  let pos = 0;
  while (pos < buf.length) {
    const end = buf.indexOf(LF, pos);
    if (end < 0) break;
    const rec = parseRecord(buf, pos, end);
    pos = end + 1;
    if (!rec) {
      bad = true;
      continue;
    }
    if (bad) {
      discardedRecords++;
      continue;
    }
    validBytes = pos;
    const old = data.get(rec.key);
    if (old !== undefined) liveBytes -= recordSize(rec.key, old);
    if (rec.value === undefined) data.delete(rec.key);
    else {
      data.set(rec.key, rec.value);
      liveBytes += recordSize(rec.key, rec.value);
    }
  }
  return { data, liveBytes, validBytes, discardedRecords };
}

/** Parses the record in buf[start, end) (end: the LF), or returns undefined when it is not intact. */
function parseRecord(buf: Buffer, start: number, end: number): { key: string; value: string | undefined } | undefined {
  if (end - start < 12 || buf[start + 8] !== TAB) return undefined;
  const crcText = buf.toString('latin1', start, start + 8);
  if (!/^[0-9a-f]{8}$/.test(crcText)) return undefined;
  const body = buf.subarray(start + 9, end);
  if (crc32(body) !== parseInt(crcText, 16)) return undefined;
  const text = body.toString('utf8');
  const tab = text.indexOf('\t');
  if (tab < 0) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(text.slice(0, tab));
  } catch {
    return undefined;
  }
  if (typeof key !== 'string' || key.length === 0) return undefined;
  const value = text.slice(tab + 1);
  return { key, value: value === '' ? undefined : value };
}
