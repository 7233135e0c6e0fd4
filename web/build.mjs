// Builds the web app into dist/ (static files the API serves at /):
//   dist/index.html                 points at the hashed assets; the API adds its config block
//   dist/assets/app-<hash>.js|.css  the bundle (React, lightweight-charts, the app), minified
//   dist/assets/*.gz                gzip copies, served to browsers that accept gzip
// and fails when the JavaScript shipped passes its budget (300 KB gzipped), printing the figure.
//
//   node build.mjs           the app
//   node build.mjs --tests   the unit tests (test/*.test.ts) into .test-build/, for node --test

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const ROOT = dirname(fileURLToPath(import.meta.url));
const DIST = join(ROOT, "dist");
const ASSETS = join(DIST, "assets");
const BUDGET_BYTES = 300 * 1024; // JavaScript shipped, gzipped
const CONFIG_MARK = "<!--cryptex-config-->"; // the API puts its JSON config block here

async function buildTests() {
  const out = join(ROOT, ".test-build");
  rmSync(out, { recursive: true, force: true });
  const entries = readdirSync(join(ROOT, "test"))
    .filter((name) => name.endsWith(".test.ts"))
    .map((name) => join(ROOT, "test", name));
  await esbuild.build({
    entryPoints: entries,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node18",
    outdir: out,
    outExtension: { ".js": ".mjs" },
    sourcemap: "inline",
    logLevel: "warning",
  });
}

function gzip(path) {
  const zipped = gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(`${path}.gz`, zipped);
  return zipped.length;
}

function hashed(source, prefix) {
  const content = readFileSync(source);
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 8).toUpperCase();
  const name = `${prefix}-${hash}${extname(source)}`;
  copyFileSync(source, join(ASSETS, name));
  return name;
}

async function buildApp() {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(ASSETS, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(ROOT, "src", "main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    // BigInt and the rest of ES2020 are needed; these browsers have them.
    target: ["es2020", "chrome109", "firefox115", "safari16"],
    outdir: ASSETS,
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    sourcemap: "linked",
    metafile: true,
    legalComments: "eof",
    jsx: "automatic",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => join(ROOT, path));
  const js = outputs.filter((path) => path.endsWith(".js"));
  const css = outputs.filter((path) => path.endsWith(".css"));
  if (js.length !== 1 || css.length !== 1)
    throw new Error(`expected one JS and one CSS file: ${outputs}`);
  const favicon = hashed(join(ROOT, "favicon.svg"), "favicon");

  const template = readFileSync(join(ROOT, "index.html"), "utf8");
  if (!template.includes(CONFIG_MARK)) throw new Error(`index.html lacks ${CONFIG_MARK}`);
  const html = template
    .replace("{{js}}", `/assets/${basename(js[0])}`)
    .replace("{{css}}", `/assets/${basename(css[0])}`)
    .replace("{{favicon}}", `/assets/${favicon}`);
  writeFileSync(join(DIST, "index.html"), html);

  let jsGzipped = 0;
  let jsRaw = 0;
  for (const name of readdirSync(ASSETS)) {
    const path = join(ASSETS, name);
    if (name.endsWith(".map") || name.endsWith(".gz")) continue;
    const size = gzip(path);
    if (name.endsWith(".js")) {
      jsGzipped += size;
      jsRaw += readFileSync(path).length;
    }
  }
  const kb = (bytes) => (bytes / 1024).toFixed(1);
  const line =
    `web: JavaScript shipped ${kb(jsGzipped)} KB gzipped (${kb(jsRaw)} KB minified), ` +
    `budget ${kb(BUDGET_BYTES)} KB`;
  if (jsGzipped > BUDGET_BYTES) {
    console.error(`${line}: OVER BUDGET`);
    process.exit(1);
  }
  console.log(line);
}

if (process.argv.includes("--tests")) await buildTests();
else await buildApp();
