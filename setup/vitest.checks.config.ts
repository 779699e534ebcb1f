/**
 * The vitest configuration a rehearsal starts from the build (see setup/checks-config.ts): the checks project alone,
 * compiled modules for global setup and the reporter, the specs' `lib/` imports loaded natively from the build.
 * Loaded with `--configLoader native` (no bundling of the configuration either). Not used from the sources: there,
 * vitest.config.ts defines the same project.
 */
import { defineConfig } from 'vitest/config';
import { checksTestOptions, reportersFor } from './checks-config.ts';
import { CODE_ROOT, PROJECT_ROOT } from '../lib/core/project.ts';

const env = process.env;
const escaped = CODE_ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export default defineConfig({
  root: PROJECT_ROOT,
  resolve: {
    // specs/x.spec.ts imports '../lib/<module>.ts': the compiled module of the same build.
    alias: [{ find: /^(?:\.\.\/)+lib\/(.+)\.ts$/, replacement: `${CODE_ROOT}/lib/$1.js` }],
  },
  test: {
    ...checksTestOptions(env, CODE_ROOT, 'js'),
    reporters: reportersFor(env, CODE_ROOT, 'js') as any,
    // Node loads the compiled modules itself: one module graph, no vite transform, no second copy.
    server: { deps: { external: [new RegExp(`^${escaped}/`)] } },
  },
});
