/**
 * The build step: the TypeScript sources (lib/, scripts/, setup/, specs/) compiled once to plain ES modules under
 * `.build/<key>/` (same layout, `.ts` → `.js`), so that a run starts Node on JavaScript instead of transpiling every
 * module at start-up (tsx for the CLI, vite for vitest's global setup and workers).
 *
 * `<key>` is a sha256 of every source file's path and content, this file and the esbuild version: a build is never
 * stale (an edited source gets a new key) and never half-written (it is written to a temporary folder and renamed into
 * place, so two runs starting at once both end with the same complete build). Older builds are removed after an hour unless a live process
 * still runs from them: a launcher (its pid file in `<build>/.users/`) or any process it started (`BUILD_ENV` in its
 * environment).
 * Packages stay imports resolved in node_modules at run time, except report.html's chart packages (VENDORED), served
 * from one bundled module in the build, `vendor/charts.js`.
 * Type checking is `npm run typecheck`'s job, not this one's (esbuild strips types without checking them).
 *
 * Plain JavaScript on purpose: it is what makes the TypeScript runnable. Usage: `node bin/build.mjs` (prints the
 * build folder); `ensureBuild()` from the launcher, bin/run.mjs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (where package.json is). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where builds live (git-ignored): `.build/<key>/`. */
export const BUILD_ROOT = path.join(ROOT, '.build');
const SOURCE_DIRS = ['lib', 'scripts', 'setup', 'specs'];
/** A build not used for this long is removed when another one is made (a run still using it has long finished). */
const PRUNE_AFTER_MS = 60 * 60 * 1000;

/** Every TypeScript source file under SOURCE_DIRS, relative to ROOT, sorted (byte order). */
function sourceFiles() {
  const files = [];
  for (const dir of SOURCE_DIRS) {
    const abs = path.join(ROOT, dir);
    if (!fs.existsSync(abs)) continue;
    for (const rel of fs.readdirSync(abs, { recursive: true })) {
      const p = path.join(dir, String(rel));
      if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p);
    }
  }
  return files.sort();
}

/**
 * The build key: sha256 over (path, content) of every source, this file, the compiler's version and the vendored
 * packages' versions; 16 hex digits.
 */
function buildKey(files) {
  const h = crypto.createHash('sha256');
  h.update(fs.readFileSync(fileURLToPath(import.meta.url)));
  h.update(esbuildVersion());
  // The vendored packages are copied into the build (writeVendorBundle): a new version of one is a new build.
  for (const name of VENDORED) h.update(`\0${name}@${packageVersion(name)}`);
  for (const f of files) {
    h.update(f + '\0');
    h.update(fs.readFileSync(path.join(ROOT, f)));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function esbuildVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/esbuild/package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The folder of an up-to-date build, building it first when the sources changed (about 0.2 s for the whole tree).
 * @returns {Promise<string>} absolute path of `.build/<key>`
 * @throws when esbuild reports an error (a syntax error in a source): the message names the file and line.
 */
export async function ensureBuild() {
  const files = sourceFiles();
  const key = buildKey(files);
  const out = path.join(BUILD_ROOT, key);
  if (fs.existsSync(path.join(out, '.complete'))) {
    // Claimed first, then checked again: a prune running now either sees this process in `.users` or has already
    // removed the folder (then it is built again below).
    claim(out);
    touch(out);
    if (fs.existsSync(path.join(out, '.complete'))) return out;
  }
  const { build } = await import('esbuild');
  fs.mkdirSync(BUILD_ROOT, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(BUILD_ROOT, `${key}.tmp-`));
  try {
    await build({
      absWorkingDir: ROOT,
      entryPoints: files,
      outdir: tmp,
      outbase: ROOT,
      // Each file compiled on its own (no bundling): every import stays an import, relative ones re-pointed at `.js`.
      bundle: true,
      plugins: [keepImports],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      sourcesContent: false,
      logLevel: 'silent',
      // The sources' own semantics, as tsx and vite run them today (tsconfig: ES2022 class fields, no decorators).
      tsconfig: path.join(ROOT, 'tsconfig.json'),
    });
    await writeVendorBundle(build, tmp);
    fs.writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()} ${files.length} files\n`);
    try {
      fs.renameSync(tmp, out);
    } catch (e) {
      // Another run finished the same build first: use it.
      if (!fs.existsSync(path.join(out, '.complete'))) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  claim(out);
  prune(key);
  return out;
}

/**
 * The environment variable naming the build a launcher runs from (`.build/<key>`): set in the launcher's environment,
 * so every process it starts — vitest and its workers, the copy tools, a nested launcher — inherits it and is seen
 * by `inUse` even after the launcher itself is gone (issue 26: a build must not be pruned while any process of a run
 * still loads modules from it).
 */
export const BUILD_ENV = 'MIGRATION_REHEARSAL_BUILD';

/** This process runs from `dir`: its pid file in `dir/.users/` and `BUILD_ENV` for every child it starts. */
function claim(dir) {
  registerUser(dir);
  process.env[BUILD_ENV] = dir;
}

/** The folder of a build where each process running from it leaves a file named by its pid (`.users/<pid>`). */
const USERS = '.users';

/**
 * Records that this process runs from `dir` (`dir/.users/<pid>`, removed when the process exits), so that no other
 * run prunes a build a live process still loads modules from (issue 26: a build pruned mid-run failed a long
 * rehearsal with "Cannot find module"). Best effort: a read-only checkout prunes nothing anyway.
 */
function registerUser(dir) {
  const file = path.join(dir, USERS, String(process.pid));
  try {
    // Not recursive: a build pruned a moment ago is not re-created as an empty folder (ensureBuild builds it again).
    fs.mkdirSync(path.join(dir, USERS), { recursive: false });
  } catch (e) {
    if (e.code !== 'EEXIST') return;
  }
  try {
    fs.writeFileSync(file, `${new Date().toISOString()}\n`);
    process.once('exit', () => fs.rmSync(file, { force: true }));
  } catch {
    /* read-only checkout */
  }
}

/**
 * Whether a live process runs from the build `dir`: a `.users/<pid>` whose process exists (dead ones are removed), or
 * any process started with `BUILD_ENV=<dir>` in its environment (a launcher's child that outlived it, e.g. vitest
 * finishing its global setup after the launcher was killed).
 */
export function inUse(dir) {
  let pids = [];
  try {
    pids = fs.readdirSync(path.join(dir, USERS));
  } catch {
    /* no launcher registered: its children may still run */
  }
  let live = false;
  for (const pid of pids) {
    if (processAlive(Number(pid))) live = true;
    else fs.rmSync(path.join(dir, USERS, pid), { force: true });
  }
  return live || startedFrom(dir);
}

/**
 * Whether a live process's environment (Linux `/proc/<pid>/environ`, as it was at exec) names `dir` in `BUILD_ENV`.
 * Processes of other users cannot be read and are skipped; elsewhere than Linux this finds nothing (the pid files
 * still apply).
 */
function startedFrom(dir) {
  const needle = Buffer.from(`\0${BUILD_ENV}=${dir}\0`);
  let entries = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return false;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), fs.readFileSync(`/proc/${name}/environ`)]);
      if (env.includes(needle)) return true;
    } catch {
      /* gone, or another user's */
    }
  }
  return false;
}

function processAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * An esbuild plugin that bundles nothing: packages stay external, relative `./x.ts` imports become `./x.js`, and an
 * import of a VENDORED package becomes an import of the build's `vendor/charts.js` (relative to the importing file).
 */
const keepImports = {
  name: 'keep-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path.startsWith('.')) return { path: args.path.replace(/\.ts$/, '.js'), external: true };
      if (VENDORED.includes(args.path)) {
        const rel = path.relative(path.dirname(path.relative(ROOT, args.importer)), VENDOR_FILE).split(path.sep);
        return { path: (rel[0] === '..' ? '' : './') + rel.join('/'), external: true };
      }
      return { path: args.path, external: true };
    });
  },
};

/**
 * Packages the build serves from one bundled module (`<build>/vendor/charts.js`) instead of their own module trees:
 * report.html's charts (lib/audit/charts.ts) import Observable Plot (d3: about 250 modules) and linkedom (about 60),
 * which Node otherwise resolves, reads and links file by file in every run — measured, 0.65 s of CPU for the two trees
 * against 0.3 s for the one bundled file. The bundle is the packages' own code, unminified; `canvas` (linkedom's
 * optional dependency, absent here) stays a runtime lookup exactly as before. The entry re-exports exactly what
 * charts.ts imports: all of Plot (`import * as Plot`) and linkedom's parseHTML.
 */
const VENDORED = ['@observablehq/plot', 'linkedom'];
const VENDOR_ENTRY = "export * from '@observablehq/plot';\nexport { parseHTML } from 'linkedom';\n";
/** Where the bundle lives in a build (relative to the build folder; its imports name it relative to themselves). */
const VENDOR_FILE = 'vendor/charts.js';
/** Bundles are cached across builds by their inputs (not the project's sources): `.build/vendor/<key>.js`. */
const VENDOR_CACHE = path.join(BUILD_ROOT, 'vendor');

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Writes the vendor bundle into the build folder `dir`: copied from the cache when the same packages (versions), entry
 * and esbuild were bundled before, else bundled (about a second) and cached. Other cached bundles are removed then.
 */
async function writeVendorBundle(build, dir) {
  const h = crypto.createHash('sha256');
  h.update(VENDOR_ENTRY);
  h.update(esbuildVersion());
  for (const name of VENDORED) h.update(`\0${name}@${packageVersion(name)}`);
  const cached = path.join(VENDOR_CACHE, `${h.digest('hex').slice(0, 16)}.js`);
  if (!fs.existsSync(cached)) {
    fs.mkdirSync(VENDOR_CACHE, { recursive: true });
    const tmp = `${cached}.tmp-${process.pid}`;
    await build({
      absWorkingDir: ROOT,
      stdin: { contents: VENDOR_ENTRY, resolveDir: ROOT, sourcefile: 'vendor-charts.js' },
      outfile: tmp,
      bundle: true,
      external: ['canvas'],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    });
    fs.renameSync(tmp, cached);
    pruneVendorCache(path.basename(cached));
  }
  fs.mkdirSync(path.join(dir, path.dirname(VENDOR_FILE)), { recursive: true });
  fs.copyFileSync(cached, path.join(dir, VENDOR_FILE));
}

/**
 * Removes cached vendor bundles of other package versions, and temporary files a crashed bundling left (older than
 * PRUNE_AFTER_MS; a younger one may be another run's bundling in progress). Best effort.
 */
function pruneVendorCache(keep) {
  for (const name of fs.readdirSync(VENDOR_CACHE)) {
    const p = path.join(VENDOR_CACHE, name);
    try {
      const stale = name.includes('.tmp-') ? Date.now() - fs.statSync(p).mtimeMs > PRUNE_AFTER_MS : name !== keep;
      if (stale) fs.rmSync(p, { force: true });
    } catch {
      /* raced with another prune */
    }
  }
}

/** Marks a build as used now (its mtime), so pruning spares builds that runs still start from. */
function touch(dir) {
  const now = new Date();
  try {
    fs.utimesSync(dir, now, now);
  } catch {
    /* a read-only checkout: pruning is best effort */
  }
}

/**
 * Removes other builds (and abandoned temporary folders) not used for PRUNE_AFTER_MS and run from by no live process
 * (`inUse`). Best effort.
 */
export function prune(keep) {
  let names = [];
  try {
    names = fs.readdirSync(BUILD_ROOT);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === keep || name === path.basename(VENDOR_CACHE)) continue;
    const p = path.join(BUILD_ROOT, name);
    try {
      if (Date.now() - fs.statSync(p).mtimeMs > PRUNE_AFTER_MS && !inUse(p))
        fs.rmSync(p, { recursive: true, force: true });
    } catch {
      /* raced with another prune */
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  ensureBuild().then(
    (dir) => process.stdout.write(`${path.relative(ROOT, dir)} (${Math.round(performance.now() - t0)} ms)\n`),
    (e) => {
      process.stderr.write(`build failed: ${e.message}\n`);
      process.exit(1);
    },
  );
}
