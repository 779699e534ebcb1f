/**
 * rw03: large objects referenced from a table. After a green rehearsal, on the target, one object unlinked — and,
 * separately, another one overwritten in place: `--verify-only` is red in `large objects` only, naming the OID.
 */
import { expect, test } from 'vitest';
import { afterTheCopy, runCase, verifyInProcess } from '../../helpers/cases.ts';
import { describe, expectFailures, failedNames } from '../../helpers/family.ts';

test('rw03 large objects: lo_unlink of one and lo_put into another are each red, naming the OID; a repeated rehearsal replaces them', async () => {
  const { s } = await afterTheCopy('rw03-large-objects.sql', ['large objects']);
  const oid = async (id: number) =>
    String((await s.src.query(`SELECT blob::text AS o FROM documents WHERE id = $1`, [id])).rows[0].o);
  const [oid2, oid3] = [await oid(2), await oid(3)];
  const bytes3 = (await s.src.query(`SELECT lo_get($1::oid) AS b`, [oid3])).rows[0].b as Buffer;

  await s.dst.query(`SELECT lo_unlink(blob) FROM documents WHERE id = 3`);
  expectFailures(await verifyInProcess(s), {
    'large objects': new RegExp(`source 5, target 4; missing on target \\(1\\): OID ${oid3}\\b`),
  });

  // Put object 3 back exactly (same OID, same bytes), then change object 2 in place.
  await s.dst.query(`SELECT lo_from_bytea($1::oid, $2::bytea)`, [oid3, bytes3]);
  const green = await verifyInProcess(s);
  expect(failedNames(green), `green again once restored: ${describe(green)}`).toEqual([]);
  await s.dst.query(`SELECT lo_put(blob, 0, '\\x5858') FROM documents WHERE id = 2`);
  expectFailures(await verifyInProcess(s), {
    'large objects': new RegExp(`content differs \\(1\\): OID ${oid2} \\[source: `),
  });

  // Repeated: a second full rehearsal with DST_DROP_SCHEMA over this target replaces the large objects (same OIDs).
  const again = await runCase(s, [], { DST_DROP_SCHEMA: s.dst.name });
  expect(again.code, again.output).toBe(0);
  expect(again.failed).toEqual([]);
  expect((await s.dst.query(`SELECT count(*)::int AS n FROM pg_largeobject_metadata`)).rows[0].n).toBe(5);
}, 600_000);
