// ESLint (npm run lint, and scripts/test): the recommended rules on the pages' scripts, which
// run in the browser with the globals of Leaflet (L) and Chart.js (Chart), and on the Node
// scripts that build the assets.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["foncier/web/static/vendor/", "node_modules/", ".venv/", "test-artifacts/"],
  },
  js.configs.recommended,
  {
    files: ["foncier/web/static/js/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: { ...globals.browser, L: "readonly", Chart: "readonly" },
    },
  },
  {
    // Loaded as a classic script (<script defer>), not as a module.
    files: ["foncier/web/static/js/calculator.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: globals.node },
  },
];
