/** The SQL builders: pure functions returning `{ text, values }`. */
export * from '../../core/query.ts';
export * from '../../core/catalog.ts';
export * from './row-count.ts';
export * from './orphans.ts';
export * from './assets.ts';
