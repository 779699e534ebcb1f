/**
 * Global setup of the `self` project: one source and one target cluster for the whole run (about 2 s to start);
 * each test creates its own databases in them (see test/helpers/sandbox.ts), so tests stay independent.
 */
import type { TestProject } from 'vitest/node';
import { startSandbox, stopSandbox, type SandboxState } from '../../lib/sandbox.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    sandbox: SandboxState;
  }
}

export default async function setup(project: TestProject) {
  const state = await startSandbox();
  project.provide('sandbox', state);
  return async () => {
    await stopSandbox(state);
  };
}
