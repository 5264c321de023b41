import 'reflect-metadata';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, processEnv, type Config } from './config/config.js';
import { demoPaths, withDemoDefaults } from './config/demo-defaults.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './database/embedded-postgres.js';
import { installGracefulShutdown } from './lifecycle/graceful-shutdown.js';
import { createLogger } from './logging/logger.js';
import type { MetricsServer } from './metrics/metrics-server.js';
import { startTracing } from './tracing/tracing.js';

// Nothing above loads Fastify, Nest, pg or ioredis: those are imported in main(), after tracing (when
// on) has installed its instrumentations, which must see them load.
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const demoEnv = await withDemoDefaults(processEnv(), join(PROJECT_ROOT, '.embedgate'));
  let config: Config;
  try {
    config = loadConfig(demoEnv.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`embedgate cannot start. ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const tracing = config.tracing ? await startTracing(config) : undefined;
  const [{ createApp }, { applyMigrations }, { seedDemo }, { serveMetrics, metricsExposureWarning }] = await Promise.all([
    import('./app.factory.js'),
    import('./database/migrations.js'),
    import('./demo/seed-demo.js'),
    import('./metrics/metrics-server.js'),
  ]);
  const logger = createLogger(config.logLevel);
  if (config.tracing) {
    const { endpoint, serviceName, sampleRatio } = config.tracing;
    logger.info({ collector: new URL(endpoint).origin, serviceName, sampleRatio }, 'tracing on: spans are exported over OTLP/HTTP');
  }
  const metricsWarning = metricsExposureWarning(config);
  if (metricsWarning) logger.warn(metricsWarning);
  if (!demoEnv.demo && !demoEnv.env.PUBLIC_URL) {
    logger.warn(`PUBLIC_URL is unset: SSO launch links will point at ${config.publicUrl}; set it to where browsers reach embedgate`);
  }

  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl && demoEnv.demo) {
    embedded = await startEmbeddedPostgres({ dataDir: demoPaths(demoEnv.demo.dir).database, lockFile: demoPaths(demoEnv.demo.dir).databaseLock });
    config = { ...config, databaseUrl: embedded.url, databasePoolSize: 1, demo: demoEnv.demo };
    logger.warn({ dir: demoEnv.demo.dir }, 'DATABASE_URL is unset: demo mode on an embedded Postgres (PGlite), its data kept in this directory');
    if (demoEnv.generatedSecretsFile) logger.warn({ file: demoEnv.generatedSecretsFile }, 'demo mode: the generated secrets are in this file');
  }
  if (config.migrateOnStart) {
    await applyMigrations(config.databaseUrl!, { serialize: !embedded });
    logger.info('database migrations applied');
  }

  const app = await createApp(config, logger);
  let metricsServer: MetricsServer | undefined;
  installGracefulShutdown(app, {
    logger,
    afterClose: async () => {
      await metricsServer?.close();
      await tracing?.shutdown();
      await embedded?.stop();
    },
  });

  await app.listen({ port: config.port, host: config.host });
  if (config.metrics.port !== undefined) {
    metricsServer = await serveMetrics(app, config, logger);
    logger.info({ metricsPort: metricsServer.port }, '/metrics is served on its own port only');
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port }, 'embedgate is listening');
  if (embedded) {
    process.stdout.write(`\n${await seedDemo(app, `http://127.0.0.1:${port}`, logger)}\n\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`embedgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
