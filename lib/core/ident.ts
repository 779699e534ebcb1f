/**
 * SQL identifiers. Names from configuration are parsed here (dotted, optionally "double-quoted"), resolved against
 * the catalog by the caller, and only ever reach SQL through quoteIdent().
 */
import { unicodeIdent } from './display.ts';

export interface TableRef {
  schema: string;
  name: string;
}

export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string as an SQL literal (`it's` → `'it''s'`), for the few places where a value cannot be a `$n` parameter
 * (SET commands, generated scripts). Throws on a NUL byte, which PostgreSQL text cannot hold.
 */
export function quoteLiteral(s: string): string {
  if (s.includes('\0')) throw new Error('literal contains a NUL byte');
  return `'${s.replace(/'/g, "''")}'`;
}

export function quoteTable(t: TableRef): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/**
 * `schema.table`, quoting parts only where needed, for test names and messages; a part holding a control, separator
 * or bidi character in PostgreSQL's escaped form (`U&"evil\000a"`, lib/core/display.ts unicodeIdent), so a name can
 * never start a line of its own in a message (issue 26, attack 24).
 */
export function displayTable(t: TableRef): string {
  return `${displayIdent(t.schema)}.${displayIdent(t.name)}`;
}

/** One identifier for test names and messages: as written when plain, else quoted (escaped: see displayTable). */
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : (unicodeIdent(name) ?? quoteIdent(name));
}

/**
 * Fold an unquoted identifier as PostgreSQL does in a UTF-8 database: ASCII A-Z only (downcase_identifier leaves
 * multibyte characters alone, so an unquoted Äpfel is stored as Äpfel, not äpfel).
 */
export function foldIdent(name: string): string {
  return name.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/**
 * Split a configuration list on `sep` (",", ";", "->", "+") outside double-quoted identifiers, so a quoted name may
 * contain the separator. An unterminated quote leaves the rest in the last item (splitIdentifiers then refuses it).
 */
export function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length;) {
    if (text[i] === '"') {
      quoted = !quoted; // a doubled "" inside a quoted name toggles twice: still quoted
      cur += '"';
      i++;
    } else if (!quoted && text.startsWith(sep, i)) {
      out.push(cur);
      cur = '';
      i += sep.length;
    } else {
      cur += text[i++];
    }
  }
  out.push(cur);
  return out;
}

/**
 * Split `a.b."C d"` into ['a', 'b', 'C d']. Unquoted parts are folded to lower case, as PostgreSQL does.
 * Throws on anything that is not a plain dotted identifier list (which is what stops injection attempts).
 */
export function splitIdentifiers(text: string): string[] {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  if (!s) throw new Error('empty name');
  while (i < s.length) {
    if (s[i] === '"') {
      let j = i + 1;
      let v = '';
      for (;;) {
        if (j >= s.length) throw new Error(`unterminated quoted identifier in "${text}"`);
        if (s[j] === '"') {
          if (s[j + 1] === '"') {
            v += '"';
            j += 2;
            continue;
          }
          break;
        }
        v += s[j++];
      }
      if (!v) throw new Error(`empty quoted identifier in "${text}"`);
      if (v.includes('\0')) throw new Error(`a quoted identifier in "${text}" contains a NUL byte`);
      parts.push(v);
      i = j + 1;
    } else {
      const m = /^[\p{L}_][\p{L}\p{M}\p{N}_$]*/u.exec(s.slice(i));
      if (!m) throw new Error(`"${text}" is not a valid name (use letters, digits, _ or "double quotes")`);
      parts.push(foldIdent(m[0]));
      i += m[0].length;
    }
    if (i < s.length) {
      if (s[i] !== '.') throw new Error(`"${text}" is not a valid name: unexpected "${s[i]}"`);
      i++;
      if (i >= s.length) throw new Error(`"${text}" ends with a dot`);
    }
  }
  return parts;
}

/** `table` or `schema.table` (schema defaults to public). */
export function parseTableRef(text: string): TableRef {
  const parts = splitIdentifiers(text);
  if (parts.length === 1) return { schema: 'public', name: parts[0] };
  if (parts.length === 2) return { schema: parts[0], name: parts[1] };
  throw new Error(`"${text}" has too many dots; write table or schema.table`);
}

/** `table.column` or `schema.table.column`. */
export function parseColumnRef(text: string): { table: TableRef; column: string } {
  const parts = splitIdentifiers(text);
  if (parts.length === 2) return { table: { schema: 'public', name: parts[0] }, column: parts[1] };
  if (parts.length === 3) return { table: { schema: parts[0], name: parts[1] }, column: parts[2] };
  throw new Error(`"${text}" must be table.column or schema.table.column`);
}
