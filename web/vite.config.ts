/// <reference types="vitest/config" />
// Builds the UI into the Python package (proxy/wiretrace_proxy/static), which the server
// serves at / and the wheel ships. Each JS/CSS asset also gets a .gz sibling that aiohttp's
// FileResponse sends to browsers accepting gzip.
import { gzipSync } from "node:zlib";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const OUT = resolve(HERE, "../proxy/wiretrace_proxy/static");
/** Built beside OUT and swapped in at the end, so a running server never sees half a build. */
const PARTIAL = `${OUT}.partial`;

function precompress(): Plugin {
  return {
    name: "wiretrace-precompress",
    apply: "build",
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name: string) => {
          const path = join(dir, name);
          return statSync(path).isDirectory() ? walk(path) : [path];
        });
      for (const path of walk(PARTIAL)) {
        if (/\.(js|css|html|svg|json)$/.test(path)) {
          writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
        }
      }
      const old = `${OUT}.old`;
      rmSync(old, { recursive: true, force: true });
      if (existsSync(OUT)) renameSync(OUT, old);
      renameSync(PARTIAL, OUT);
      rmSync(old, { recursive: true, force: true });
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress()],
  build: {
    outDir: PARTIAL,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8787",
      "/v1": "http://127.0.0.1:8787",
      "/healthz": "http://127.0.0.1:8787",
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    setupFiles: ["src/test-setup.ts"],
    // jsdom renders of large lists take seconds on a busy 2-core machine; 5 s (the
    // default) failed a correct test there.
    testTimeout: 30_000,
  },
});
