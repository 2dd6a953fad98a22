// Vite build of the DECNET dashboard. The bundle goes straight into the Go package
// that embeds it (internal/webui/dist). Everything is emitted as files: no inline
// scripts, no inline styles, no data: URLs for assets, so the page runs under the
// API server's strict Content-Security-Policy (script-src 'self'; style-src 'self').
import { defineConfig } from 'vite';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../internal/webui/dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npm run dev` talks to a running `decnet api` (default port 8080).
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
