/** The SQL builders: pure functions returning `{ text, values }`. */
export * from './query.ts';
export * from './catalog.ts';
export * from './row-count.ts';
export * from './orphans.ts';
export * from './assets.ts';
