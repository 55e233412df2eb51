// Builds the dashboard into src/footfall/web/static/dashboard/ and prints its gzipped size
// against the budget: all of its JavaScript at most 150 KB gzipped. The world map's
// TopoJSON (world-atlas, fetched when the map is first shown) is counted in the budget too.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const OUT = new URL("../src/footfall/web/static/dashboard/", import.meta.url).pathname;
const BUDGET = 150 * 1024;

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: ["src/main.tsx", "src/styles.css"],
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  target: "es2020",
  outdir: OUT,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync("node_modules/world-atlas/countries-110m.json", join(OUT, "countries-110m.json"));

const files = readdirSync(OUT).filter((name) => statSync(join(OUT, name)).isFile());
const sizes = {};
let javascript = 0;
let total = 0;
for (const name of files.sort()) {
  const body = readFileSync(join(OUT, name));
  const gzipped = gzipSync(body, { level: 9 });
  writeFileSync(join(OUT, `${name}.gz`), gzipped);
  sizes[name] = { bytes: body.length, gzip: gzipped.length };
  if (name.endsWith(".js")) javascript += gzipped.length;
  if (name.endsWith(".js") || name.endsWith(".json")) total += gzipped.length;
}
writeFileSync(join(OUT, "sizes.json"), JSON.stringify(sizes, null, 1));
const kb = (n) => (n / 1024).toFixed(1) + " KB";
for (const [name, size] of Object.entries(sizes)) console.log(`  ${name.padEnd(24)} ${kb(size.bytes).padStart(9)}  gzip ${kb(size.gzip).padStart(8)}`);
console.log(`dashboard: JavaScript ${kb(javascript)} gzipped; with the map data ${kb(total)} of the ${kb(BUDGET)} budget`);
if (total > BUDGET) {
  console.error(`dashboard: over the budget by ${kb(total - BUDGET)}`);
  process.exit(1);
}
