// @ts-check
// The example host app: node examples/host-app/src/main.js (after building @embedgate/client), configured by
// the environment (README.md).
import { loadConfig } from './config.js';
import { createHostApp } from './server.js';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  process.stderr.write(`host-app cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const app = createHostApp(config);
const port = await app.listen();
process.stdout.write(`host app listening on ${config.host}:${port}; open ${config.hostUrl}\n`);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
    // Browsers keep connections open: do not wait for them.
    app.server.closeAllConnections();
  });
}
