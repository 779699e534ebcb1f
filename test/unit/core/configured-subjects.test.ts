/**
 * The did-you-mean of a configured table or column that does not exist (lib/core/configured-subjects.ts).
 */
import { expect, test } from 'vitest';
import { editDistance } from '../../../lib/core/cli-args.ts';
import { closestName } from '../../../lib/core/configured-subjects.ts';

test('editDistance', () => {
  expect(editDistance('ugc_asset', 'ugc_assets')).toBe(1);
  expect(editDistance('users', 'users')).toBe(0);
  expect(editDistance('', 'abc')).toBe(3);
});

test('closestName: case-insensitive equal, a few edits, or one name inside the other; nothing far', () => {
  expect(closestName('ugc_asset', ['users', 'ugc_assets', 'gallery_items'])).toBe('ugc_assets');
  expect(closestName('Users', ['users', 'user_roles'])).toBe('users');
  expect(closestName('storage', ['id', 'storage_path'])).toBe('storage_path');
  expect(closestName('nosuch_table', ['users', 'ugc_assets'])).toBeUndefined();
  expect(closestName('id', ['pid', 'user_id'])).toBe('pid');
});
