/** The SQL builders: pure functions returning `{ text, values }`. */
export * from '../../core/query.ts';
export * from '../../core/catalog.ts';
export * from '../families/row-counts/sql.ts';
export * from '../families/orphans/sql.ts';
export * from '../families/assets/sql.ts';
