import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import session from '@fastify/session';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { answerClientError, answerFrameworkError } from './common/framework-errors.js';
import { parseQueryStrictly } from './common/query-string.js';
import { checkUrlText } from './common/url-text.js';
import { securityHeaders } from './common/security-headers.js';
import type { Config } from './config/config.js';
import { fastifyTrustProxy, trustProxyWarning } from './config/trust-proxy.js';
import { ConsoleSessionStore } from './console/console-session.store.js';
import { admitRequests } from './lifecycle/request-admission.js';
import { NestPinoLogger } from './logging/logger.js';
import { MetricsService } from './metrics/metrics.service.js';

/** Request bodies over this get 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The routes a browser calls with its cookies (CORS with credentials): the providers and the viewer-session exchange. */
const CREDENTIALED_PATHS = /^\/v1\/(sdk\/|viewer-sessions\/exchange\/)/;
/** Sent on every answer, including those made before any hook runs. */
const BASE_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' };

export interface AppOptions {
  /**
   * Serve the Swagger UI's static assets at /docs (the OpenAPI JSON at /docs/json is always served).
   * In-process Jest tests turn it off: @fastify/static needs require(esm), which Jest lacks on Node 20;
   * the suites that start dist/main.js check the UI.
   */
  docsUi?: boolean;
}

/** One access-log line per request, when it completes (with the request's method and URL), not Fastify's two. */
class AccessLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export interface ServedRoute {
  method: string;
  /** Fastify's pattern, e.g. /v1/tenants/:slug */
  url: string;
}
const routeTables = new WeakMap<object, ServedRoute[]>();

/** Every route the application serves (Nest's and Fastify's own), for the tests generated from the route table. */
export function routeTableOf(app: NestFastifyApplication): readonly ServedRoute[] {
  return routeTables.get(app) ?? [];
}

/** Builds the HTTP application (not yet listening): used by main.ts and the tests. */
export async function createApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const trustProxyRisk = trustProxyWarning(config.trustProxy);
  if (trustProxyRisk) logger.warn(trustProxyRisk);
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Shutdown answers its own 503, in the contract's shape (src/lifecycle/request-admission.ts).
    return503OnClosing: false,
    // Decides request.ip (the failed-authentication throttle's key), request.protocol and request.host: src/config/trust-proxy.ts.
    trustProxy: fastifyTrustProxy(config.trustProxy),
    logController: new AccessLogController(),
    // Longer than the 200 characters checkUrlText allows, so an over-long id gets its 400 from there.
    routerOptions: { maxParamLength: 500, querystringParser: parseQueryStrictly },
    // The router's and the HTTP parser's own refusals, in the contract's shape too.
    frameworkErrors: answerFrameworkError(BASE_HEADERS),
    clientErrorHandler: answerClientError(BASE_HEADERS),
  });
  const fastify = adapter.getInstance();
  fastify.addHook('preValidation', checkUrlText);
  const routes: ServedRoute[] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: method.toUpperCase(), url: route.url });
  });
  // JSON only: Fastify's own parser (prototype-poisoning safe); anything else gets 415.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (request.url.startsWith('/v1/')) reply.header('cache-control', 'no-store');
  });

  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
    bodyParser: false,
  });
  app.useGlobalFilters(new AllExceptionsFilter());
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids and launch links stay out of the labels.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestSeconds.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
  // Standard security headers (helmet's, computed once); the Swagger UI at /docs needs its own inline styles.
  const headers = securityHeaders({
    contentSecurityPolicy: { directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] } },
  });
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
  // Before the hooks that do work (sessions): at shutdown, new requests get 503 shutting_down; admitted ones are counted.
  admitRequests(fastify);
  // Cookies: the viewer session's (src/viewer-sessions) and, with SAML, the console's.
  await app.register(cookie as never);
  if (config.saml) {
    // Console sessions: server-side (Postgres), HttpOnly, SameSite=Lax, Secure outside plain-http dev,
    // idle timeout by a rolling cookie, absolute timeout checked by StaffGuard; forms need CSRF tokens.
    const saml = config.saml;
    await app.register(formbody as never);
    await app.register(session as never, {
      secret: saml.sessionSecret,
      cookieName: 'embedgate_session',
      store: app.get(ConsoleSessionStore),
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', secure: saml.secureCookies, path: '/', maxAge: saml.sessionIdleMinutes * 60_000 },
    });
    await app.register(csrf as never, { sessionPlugin: '@fastify/session' });
  }
  // CORS is off unless CORS_ORIGINS lists the origins allowed to call the API from a browser (the
  // host pages). With credentials: Metabase's clients call the providers with `credentials: "include"`,
  // so the answer names the page's origin (never *), allows credentials, and varies on Origin.
  // Credentials only where a browser's cookie is the identity (the providers, the viewer-session
  // exchange): a host page must never read another route with a cookie the browser happens to hold.
  if (config.corsOrigins?.length) {
    const base = {
      origin: config.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      maxAge: 600,
    };
    app.enableCors({
      delegator: (request: { url?: string }, callback: (error: Error | null, options: object) => void) =>
        callback(null, { ...base, credentials: CREDENTIALED_PATHS.test(request.url ?? '') }),
    } as never);
  }

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('embedgate')
      .setDescription(
        'Licensing-aware embed gateway for Metabase. Errors: {"error": {"code", "message"}} with a 4xx status. ' +
          'Authenticate with Authorization: Bearer <api key>.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', swaggerUiEnabled: options.docsUi ?? true });
  await app.init();
  routeTables.set(app, routes);
  return app;
}
