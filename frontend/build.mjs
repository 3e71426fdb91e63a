// Bundles src/codemirror.js into ../service/qdkg/static/query/vendor/ with esbuild, and writes the
// licences of every npm package that ends up in the bundle next to it.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "service", "qdkg", "static", "query", "vendor");
mkdirSync(outDir, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "codemirror.js")],
  outfile: join(outDir, "codemirror.js"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

// The package directory of every bundled input, e.g. node_modules/@codemirror/view.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (match) packages.add(match[1]);
}

const sections = [];
for (const name of [...packages].sort()) {
  const dir = join(here, "node_modules", name);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const text = licenceFile ? readFileSync(join(dir, licenceFile), "utf8").trim() : "";
  if (!text) throw new Error(`${name} ships no licence file; check its terms before bundling it`);
  sections.push(`${name} ${manifest.version} (${manifest.license})\n\n${text}`);
}
writeFileSync(
  join(outDir, "THIRD-PARTY-LICENSES.txt"),
  "Licences of the npm packages bundled into codemirror.js\n\n" +
    sections.join("\n\n" + "-".repeat(72) + "\n\n") + "\n",
);

const bundle = readFileSync(join(outDir, "codemirror.js"));
const digest = createHash("sha256").update(bundle).digest("hex");
console.log(
  `${relative(process.cwd(), join(outDir, "codemirror.js"))}: ${bundle.length} bytes, ` +
    `sha256 ${digest}, ${packages.size} packages`,
);
