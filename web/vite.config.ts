import { defineConfig } from 'vite'

// The console is built into internal/web/dist, which the Go binary embeds.
// The directory keeps a committed .gitkeep, so it is not emptied here; the
// build script removes the old assets first.
export default defineConfig({
  build: {
    outDir: '../internal/web/dist',
    emptyOutDir: false,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/healthz': 'http://127.0.0.1:8080' },
  },
})
