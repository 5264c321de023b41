import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { routeTableOf } from '../../src/app.factory.js';
import { build, podSpecsOf } from '../support/kustomize.js';
import { startService, type RunningService } from '../support/service.js';

// The paths the deployment artifacts probe (Kubernetes probes, the image's and the compose file's
// health checks) are routes the service serves, and they answer 200 on a running service.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let service: RunningService;

beforeAll(async () => {
  service = await startService();
}, 60_000);
afterAll(() => service?.stop());

function probedPaths(): [string, string][] {
  const paths: [string, string][] = [];
  for (const overlay of ['overlays/example']) {
    for (const spec of build(join(ROOT, 'deploy/kubernetes', overlay)).flatMap(podSpecsOf)) {
      for (const container of spec.containers) {
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
          if (container[probe]?.httpGet) paths.push([`${overlay}: ${container.name} ${probe}`, container[probe].httpGet.path]);
        }
      }
    }
  }
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  paths.push(['Dockerfile HEALTHCHECK', /127\.0\.0\.1:' \+ \(process\.env\.PORT \|\| 8080\) \+ '(\/[^']+)'/.exec(dockerfile)![1]]);
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  paths.push([
    'docker-compose.yml embedgate healthcheck',
    /http:\/\/127\.0\.0\.1:8080(\/[^']+)'/.exec(compose.services.embedgate.healthcheck.test.join(' '))![1],
  ]);
  return paths;
}

describe('every path the deployment probes', () => {
  it.each(probedPaths())('%s: GET %s is a route the service serves, and answers 200', async (_where, path) => {
    expect(routeTableOf(service.app)).toContainEqual({ method: 'GET', url: path });
    const answer = await service.anonymous.get(path);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok' });
  });
});
