// Bundles the UI into dist/: one content-hashed JS and CSS bundle under dist/assets/
// (cached forever by the server) and an index.html that names them (revalidated on
// every load). Everything the page needs is in dist/: labs run offline.
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
  target: ["chrome110", "firefox115", "safari16"],
  outdir: path.join(dist, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => "/" + path.relative(dist, p));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (!js || !css) throw new Error(`expected a JS and a CSS bundle, got ${outputs.join(", ")}`);

const html = (await readFile("src/index.html", "utf8"))
  .replace("%APP_JS%", js)
  .replace("%APP_CSS%", css);
await writeFile(path.join(dist, "index.html"), html);
console.log(`built ${js} ${css}`);
