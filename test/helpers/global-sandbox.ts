/**
 * Global setup of the `integration` project: one source and one target cluster for the whole run (about 2 s to start),
 * plus a template database holding the fixture, so a test gets a loaded source database in a few milliseconds.
 * Each test creates its own databases (see test/helpers/sandbox.ts), so tests stay independent.
 */
import type { TestProject } from 'vitest/node';
import { loadFixture } from '../../lib/sandbox/fixture.ts';
import {
  createDatabase,
  startSandbox,
  stopSandbox,
  withClient,
  type SandboxState,
} from '../../lib/sandbox/clusters.ts';

export const FIXTURE_TEMPLATE = 'fixture_template';
export const FIXTURE_USERS = 30;

declare module 'vitest' {
  export interface ProvidedContext {
    sandbox: SandboxState;
    fixtureTemplate: string;
    fixtureUsers: number;
  }
}

export default async function setup(project: TestProject) {
  const state = await startSandbox();
  try {
    const src = state.clusters.source!;
    await createDatabase(src, FIXTURE_TEMPLATE);
    await withClient(src, FIXTURE_TEMPLATE, (c) => loadFixture(c, { users: FIXTURE_USERS }));
  } catch (e) {
    await stopSandbox(state);
    throw e;
  }
  project.provide('sandbox', state);
  project.provide('fixtureTemplate', FIXTURE_TEMPLATE);
  project.provide('fixtureUsers', FIXTURE_USERS);
  return async () => {
    await stopSandbox(state);
  };
}
