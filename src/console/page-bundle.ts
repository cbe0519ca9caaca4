// The console page's script: the browser TypeScript in ./page/ (type-checked with its own tsconfig,
// DOM types and no Node ones), bundled by esbuild into classic scripts the page carries inline.
//
// Where the bundling happens:
// - Run from the sources (tsx: `npm run demo`, `npm run start:dev`; ts-jest: the tests), the sources are
//   beside this file: they are bundled in memory on first use and kept. No build step, never stale.
// - Compiled (`npm start`, the Docker image: dist/src/console/), there are no sources and no esbuild
//   (a devDependency): `npm run build` runs this file to write the bundles into dist/src/console/page/,
//   and they are read from there.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as Esbuild from 'esbuild';

export type PageBundle = 'page' | 'mrkdwn';

const SOURCE_DIR = path.join(__dirname, 'page');

/** ./page/mrkdwn.ts's exports, declared by the 'mrkdwn' bundle as script globals. */
const MRKDWN_GLOBALS = ['mrkdwnNodes', 'plainNodes', 'nodesToHtml', 'mrkdwnToHtml'] as const;

/** Each bundle: its entry point in ./page/ and its own esbuild options. */
const BUNDLES: Record<PageBundle, { entry: string; options: Esbuild.BuildOptions }> = {
  // The page: the converter and the page's behaviour in one IIFE ("use strict" comes from tsconfig's
  // strict, which esbuild follows).
  page: { entry: 'main.ts', options: {} },
  // The converter alone, as the page ships it, for a `vm` (the tests): a script that declares its
  // functions, so the code that follows it calls them by name.
  mrkdwn: {
    entry: 'mrkdwn.ts',
    options: {
      globalName: 'consoleMrkdwn',
      footer: { js: MRKDWN_GLOBALS.map((name) => `var ${name} = consoleMrkdwn.${name};`).join('\n') },
    },
  },
};

function bundleFileName(bundle: PageBundle): string {
  return `${bundle}.bundle.js`;
}

/** Bundles one script from the sources (needs esbuild). */
function bundleFromSources(bundle: PageBundle): string {
  // Loaded here only: compiled code reads the prebuilt bundles and runs without esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof Esbuild;
  const result = esbuild.buildSync({
    ...BUNDLES[bundle].options,
    entryPoints: [BUNDLES[bundle].entry],
    absWorkingDir: SOURCE_DIR,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild wrote no ${bundle} bundle`);
  return output.text;
}

const cache = new Map<PageBundle, string>();

/** The script, bundled from the sources when they are here, else the bundle `npm run build` wrote. */
export function pageBundle(bundle: PageBundle): string {
  let script = cache.get(bundle);
  if (script === undefined) {
    const prebuilt = path.join(SOURCE_DIR, bundleFileName(bundle));
    if (existsSync(path.join(SOURCE_DIR, BUNDLES[bundle].entry))) script = bundleFromSources(bundle);
    else if (existsSync(prebuilt)) script = readFileSync(prebuilt, 'utf8');
    else throw new Error(`the console page's script is missing: ${prebuilt} (npm run build writes it)`);
    cache.set(bundle, script);
  }
  return script;
}

/** `tsx src/console/page-bundle.ts <outDir>`: writes every bundle into outDir (`npm run build`). */
function main(outDir: string | undefined): void {
  if (outDir === undefined) throw new Error('usage: tsx src/console/page-bundle.ts <outDir>');
  mkdirSync(outDir, { recursive: true });
  for (const bundle of Object.keys(BUNDLES) as PageBundle[]) {
    writeFileSync(path.join(outDir, bundleFileName(bundle)), bundleFromSources(bundle));
  }
}

if (require.main === module) main(process.argv[2]);
