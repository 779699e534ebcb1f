import { describe, expect, test } from 'vitest';
import {
  compareLargeObjects,
  largeObjectsEvidence,
  largeObjectsMessage,
  largeObjectsQuery,
} from '../../../../../lib/checks/families/large-objects/large-objects.ts';

const lo = (oid: string, md5 = 'a', bytes = '10') => ({ oid, md5, bytes });

describe('large objects', () => {
  test('the summary evidence calls the sum what it is (a sum of signed 64-bit object hashes), not an md5', () => {
    const line = largeObjectsEvidence(
      { n: '2', bytes: '30', s: '-4611686018427387904' },
      { n: '2', bytes: '30', s: '-4611686018427387904' },
    );
    expect(line).toMatch(/^source: 2 objects, 30 bytes, sum of object hashes -4611686018427387904; target: /);
    expect(line).toMatch(/signed 64-bit integer/);
    expect(line).not.toMatch(/md5 sum/);
  });
  test('the same objects: no message', () => {
    const r = compareLargeObjects([lo('1'), lo('2')], [lo('1'), lo('2')]);
    expect(largeObjectsMessage(r)).toBe('');
  });
  test('missing, extra and changed objects are named by OID', () => {
    const r = compareLargeObjects([lo('1'), lo('2'), lo('3')], [lo('1'), lo('2', 'b', '10'), lo('4')]);
    expect(r.missing).toEqual(['3']);
    expect(r.extra).toEqual(['4']);
    expect(r.changed.map((c) => c.oid)).toEqual(['2']);
    expect(largeObjectsMessage(r)).toBe(
      'large objects: source 3, target 3; missing on target (1): OID 3; extra on target (1): OID 4; ' +
        'content differs (1): OID 2 [source: 10 bytes md5 a | target: 10 bytes md5 b]',
    );
  });
  test('long lists are cut with a count', () => {
    const src = Array.from({ length: 25 }, (_, i) => lo(String(i)));
    expect(largeObjectsMessage(compareLargeObjects(src, []))).toMatch(/OID 0, 1,.*19, … \(5 more\)$/);
  });
  test('hashes are computed in PostgreSQL, per object', () => {
    expect(largeObjectsQuery().text).toMatch(/md5\(x\.b\)[\s\S]*lo_get\(m\.oid\)[\s\S]*ORDER BY m\.oid/);
  });
});
