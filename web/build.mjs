// Bundles the UI into dist/: one content-hashed JS and CSS bundle under dist/assets/
// (cached forever by the server) and an index.html that names them (revalidated on
// every load), plus chunks the app imports when needed (the recording player, which
// only the dashboard's replay uses). Everything the page needs is in dist/: labs run
// offline.
import * as esbuild from "esbuild";
import { readFile, writeFile, rm, mkdir } from "node:fs/promises";
import path from "node:path";

const dist = "dist";
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  minify: true,
  sourcemap: "linked",
  format: "esm",
  splitting: true,
  target: ["chrome110", "firefox115", "safari16"],
  outdir: path.join(dist, "assets"),
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

// The entry point's bundle and its CSS; chunks are loaded by the bundle itself.
const [entry, meta] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === "src/main.ts") ?? [];
const js = entry && "/" + path.relative(dist, entry);
const css = meta?.cssBundle && "/" + path.relative(dist, meta.cssBundle);
if (!js || !css) throw new Error(`expected a JS and a CSS bundle, got ${Object.keys(result.metafile.outputs).join(", ")}`);

const html = (await readFile("src/index.html", "utf8"))
  .replace("%APP_JS%", js)
  .replace("%APP_CSS%", css);
await writeFile(path.join(dist, "index.html"), html);
console.log(`built ${js} ${css}`);
