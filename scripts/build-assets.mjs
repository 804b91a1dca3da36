// Copies the front-end libraries installed by `npm ci` into foncier/web/static/vendor/, where
// Flask serves them: the pages load nothing from a CDN. The copies are git-ignored.
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "foncier", "web", "static", "vendor");

// Each library: the files of its distribution that the pages need.
const libraries = {
  leaflet: { from: "node_modules/leaflet/dist", files: ["leaflet.js", "leaflet.css", "images"] },
  // Drawing and editing of geometries in the edit forms (its icons are data: URLs in the CSS).
  "leaflet-geoman": {
    from: "node_modules/@geoman-io/leaflet-geoman-free/dist",
    files: ["leaflet-geoman.min.js", "leaflet-geoman.css"],
  },
  // The charts of the balances page (its UMD build defines the global Chart).
  "chart.js": { from: "node_modules/chart.js/dist", files: ["chart.umd.min.js"] },
};

for (const [name, { from, files }] of Object.entries(libraries)) {
  const source = join(root, from);
  if (!existsSync(source)) {
    console.error(`${from} is missing: run \`npm ci\` first.`);
    process.exit(1);
  }
  const target = join(vendor, name);
  rmSync(target, { recursive: true, force: true });
  for (const file of files) {
    cpSync(join(source, file), join(target, file), { recursive: true });
  }
  console.log(`${name}: ${files.join(", ")} -> ${target}`);
}
