import 'reflect-metadata';
import { join } from 'node:path';
import { createApp } from './app.factory.js';
import { ConfigError, loadConfig, processEnv, type Config } from './config/config.js';
import { withDemoDefaults } from './config/demo-defaults.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './database/embedded-postgres.js';
import { applyMigrations, PROJECT_ROOT } from './database/migrations.js';
import { installGracefulShutdown } from './lifecycle/graceful-shutdown.js';
import { seedDemo } from './demo/seed-demo.js';
import { createLogger } from './logging/logger.js';

async function main(): Promise<void> {
  const demoEnv = withDemoDefaults(processEnv(), join(PROJECT_ROOT, '.embedgate', 'demo-secrets.json'));
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
  const logger = createLogger(config.logLevel);
  if (!demoEnv.demo && !demoEnv.env.PUBLIC_URL) {
    logger.warn(`PUBLIC_URL is unset: SSO launch links will point at ${config.publicUrl}; set it to where browsers reach embedgate`);
  }

  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres();
    config = { ...config, databaseUrl: embedded.url, databasePoolSize: 1 };
    logger.warn('DATABASE_URL is unset: demo mode on an embedded in-memory Postgres (PGlite); data is lost at exit');
    if (demoEnv.generatedSecretsFile) logger.warn({ file: demoEnv.generatedSecretsFile }, 'demo mode: generated Metabase secrets are in this file');
  }
  if (config.migrateOnStart) {
    await applyMigrations(config.databaseUrl!, { serialize: !embedded });
    logger.info('database migrations applied');
  }

  const app = await createApp(config, logger);
  installGracefulShutdown(app, { logger, afterClose: async () => embedded?.stop() });

  await app.listen({ port: config.port, host: config.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port }, 'embedgate is listening');
  if (embedded) {
    process.stdout.write(`\n${await seedDemo(app, `http://127.0.0.1:${port}`)}\n\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`embedgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
