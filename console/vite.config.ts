// The console's build: one hashed script and stylesheet under /console/assets/, which
// `users-local serve` embeds and serves with `Cache-Control: immutable` (index.html: no-cache).
// No inline script or style (the Content-Security-Policy forbids them), no source maps in
// the committed bundle. Every asset also has a gzip copy (`.gz`), built here once rather than
// compressed per request.
import { defineConfig } from "vite";
import { compression, defineAlgorithm } from "vite-plugin-compression2";

export default defineConfig({
  base: "/console/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
  // A gzip copy of every asset beside it (`name.gz`), served to clients that accept gzip.
  plugins: [compression({ algorithms: [defineAlgorithm("gzip", { level: 9 })], threshold: 0 })],
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
});
