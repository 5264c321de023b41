import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { envObject } from '../../src/config/config.schema.js';
import { SHUTDOWN_DEADLINE_MS } from '../../src/lifecycle/graceful-shutdown.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import {
  build,
  kustomizationDirs,
  podSpecsOf,
  readKustomization,
  readYamlDocuments,
  referencedPaths,
  SUPPORTED_FIELDS,
  type K8sObject,
} from '../support/kustomize.js';

// The deployment artifacts (deploy/, Dockerfile, docker-compose.yml) checked against the Kubernetes
// schemas and against the service itself: its configuration schema, its metrics, its shutdown timing.
// That the probe paths answer on the real service is checked in test/e2e/deploy-probes.e2e.spec.ts.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KUBERNETES = join(ROOT, 'deploy', 'kubernetes');
const EXAMPLE = join(KUBERNETES, 'overlays', 'example');
const MIGRATION_JOB = '../../components/migration-job';
const KNOWN_ENV = new Set(Object.keys(envObject.shape));

type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/**
 * Every field name the Kubernetes and Prometheus Operator schemas know (read from kubernetes-models'
 * compiled validators): the schemas accept unknown fields, kubectl's strict validation does not, so a
 * misspelt field (`readinesProbe`) is caught here.
 */
const KNOWN_FIELDS = (() => {
  const names = new Set<string>();
  for (const dir of ['node_modules/kubernetes-models/_schemas', 'node_modules/@kubernetes-models/prometheus-operator/_schemas']) {
    for (const file of readdirSync(join(ROOT, dir)).filter((name) => name.endsWith('.mjs'))) {
      for (const match of readFileSync(join(ROOT, dir, file), 'utf8').matchAll(/data\.([A-Za-z_$][\w$]*)|missingProperty:"([^"]+)"/g))
        names.add(match[1] ?? match[2]);
    }
  }
  return names;
})();
/** Fields whose values are maps of free keys (labels, data, resource quantities, selectors of Services). */
const FREE_MAPS = new Set(['labels', 'annotations', 'data', 'stringData', 'matchLabels', 'limits', 'requests', 'nodeSelector']);

function unknownFields(value: unknown, path: string, parentKind?: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, `${path}[${i}]`, parentKind));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const here = `${path}.${key}`;
    if (!KNOWN_FIELDS.has(key)) return [here];
    // A Service's selector is a map of labels (a workload's is a LabelSelector).
    if (FREE_MAPS.has(key) || (parentKind === 'Service' && here === '.spec.selector')) return [];
    return unknownFields(child, here, parentKind);
  });
}

function validate(object: K8sObject, where: string): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`${where}: no schema for ${object.apiVersion} ${object.kind}: add its kubernetes-models class to MODELS`);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${where}: ${object.kind}/${object.metadata?.name} is not valid: ${(error as Error).message}`, { cause: error });
  }
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  expect({ where, unknown: unknownFields(rest, '', object.kind) }).toEqual({ where, unknown: [] });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

const only = (objects: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${found.length}`);
  return found[0];
};
const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('every manifest in deploy/kubernetes', () => {
  const files = yamlFiles(KUBERNETES).filter((file) => !file.endsWith('kustomization.yaml'));

  it.each(files.map((file) => [relative(ROOT, file)]))('%s is valid against the Kubernetes schemas', (file) => {
    const documents = readYamlDocuments(join(ROOT, file)) as K8sObject[];
    expect(documents.length).toBeGreaterThan(0);
    for (const object of documents) {
      // Patches are partial objects: validated once merged (below); here, their field names.
      if (file.endsWith('-patch.yaml')) expect(unknownFields(object, '', object.kind)).toEqual([]);
      else validate(object, file);
    }
  });

  it.each(kustomizationDirs(KUBERNETES).map((dir) => [relative(ROOT, dir)]))('%s/kustomization.yaml names files that exist, and every file there', (dir) => {
    const kustomization = readKustomization(join(ROOT, dir));
    expect(Object.keys(kustomization).filter((field) => !SUPPORTED_FIELDS.has(field))).toEqual([]);
    const referenced = referencedPaths(join(ROOT, dir), kustomization);
    for (const path of referenced) expect({ path: relative(ROOT, path), exists: existsSync(path) }).toEqual({ path: relative(ROOT, path), exists: true });
    const local = readdirSync(join(ROOT, dir)).filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml');
    for (const file of local) expect({ file, referenced: referenced.includes(join(ROOT, dir, file)) }).toEqual({ file, referenced: true });
  });
});

describe('deploy/kubernetes/base', () => {
  it('makes only built-in kinds: the Prometheus Operator kinds are a component of their own, for clusters with its CRDs', () => {
    const kinds = build(join(KUBERNETES, 'base')).map((object) => `${object.apiVersion}/${object.kind}`);
    expect(kinds.filter((kind) => kind.startsWith('monitoring.coreos.com/'))).toEqual([]);
    const operator = readKustomization(join(KUBERNETES, 'components', 'prometheus-operator'));
    expect(operator.resources).toEqual(['servicemonitor.yaml', 'prometheusrule.yaml']);
  });
});

describe.each([
  ['overlays/example', []],
  ['overlays/example with components/migration-job', [MIGRATION_JOB]],
])('kubectl apply -k deploy/kubernetes/%s', (_name, components) => {
  const objects = build(EXAMPLE, components as string[]);
  const deployment = only(objects, 'Deployment', 'embedgate');
  const podSpec = deployment.spec.template.spec;
  const container = podSpec.containers.find((candidate: any) => candidate.name === 'embedgate');
  const configMap = only(objects, 'ConfigMap', 'embedgate-config');
  const secret = only(objects, 'Secret', 'embedgate-secrets');
  const containerPort = (name: string) => container.ports.find((port: any) => port.name === name)?.containerPort;

  it('makes objects that are each valid, named once, in the namespace the overlay creates', () => {
    for (const object of objects) validate(object, `${object.kind}/${object.metadata.name}`);
    const keys = objects.map((object) => `${object.kind}/${object.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    const namespace = only(objects, 'Namespace').metadata.name;
    for (const object of objects.filter((candidate) => candidate.kind !== 'Namespace')) expect(object.metadata.namespace).toBe(namespace);
    expect(container.image).toBe('registry.example.com/platform/embedgate:0.1.0');
  });

  it('names only settings the configuration schema knows, and they make a configuration that boots', () => {
    const named = [
      ...Object.keys(configMap.data),
      ...Object.keys(secret.stringData ?? {}),
      ...objects.flatMap((object) => podSpecsOf(object).flatMap((spec) => spec.containers.flatMap((c: any) => (c.env ?? []).map((e: any) => e.name)))),
    ];
    expect(named.filter((name) => !KNOWN_ENV.has(name))).toEqual([]);
    // The example's signing secrets are placeholders too short to boot: a forgotten Secret stops every
    // replica with the schema's message instead of signing with values anyone can read here.
    expect(() => loadConfig({ ...configMap.data, ...secret.stringData })).toThrow(/METABASE_EMBEDDING_SECRET_KEY must be at least 32 bytes/);
    expect(() => loadConfig({ ...configMap.data, ...secret.stringData })).toThrow(/METABASE_JWT_SHARED_SECRET must be at least 32 bytes/);
    // With real secrets in their place, the same validation as at boot: any other bad value would stop every replica.
    const config = loadConfig({
      ...configMap.data,
      ...secret.stringData,
      METABASE_EMBEDDING_SECRET_KEY: randomBytes(32).toString('hex'),
      METABASE_JWT_SHARED_SECRET: randomBytes(32).toString('hex'),
    });
    expect(config.metrics.port).toBe(containerPort('metrics'));
    expect(config.port).toBe(containerPort('http'));
    expect(config.host).toBe('0.0.0.0');
  });

  it('refers only to objects it makes, and selects its own pods', () => {
    const names = (kind: string) => objects.filter((object) => object.kind === kind).map((object) => object.metadata.name);
    for (const spec of objects.flatMap(podSpecsOf)) {
      expect(names('ServiceAccount')).toContain(spec.serviceAccountName);
      for (const c of spec.containers) {
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) expect(names('ConfigMap')).toContain(from.configMapRef.name);
          if (from.secretRef) expect(names('Secret')).toContain(from.secretRef.name);
        }
      }
    }
    const podLabels = deployment.spec.template.metadata.labels;
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    const service = only(objects, 'Service', 'embedgate');
    expect(selects(service.spec.selector, podLabels)).toBe(true);
    for (const port of service.spec.ports) expect(container.ports.map((p: any) => p.name)).toContain(port.targetPort);
    expect(selects(only(objects, 'PodDisruptionBudget').spec.selector.matchLabels, podLabels)).toBe(true);
    expect(selects(only(objects, 'NetworkPolicy').spec.podSelector.matchLabels, podLabels)).toBe(true);
    const hpa = only(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'embedgate' });
    expect(hpa.spec.minReplicas).toBe(3);
    // The autoscaler owns the count: a `replicas` on its Deployment would reset it at each apply.
    expect(deployment.spec.replicas).toBeUndefined();
    // A drain can always evict one pod at the floor.
    expect(only(objects, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    const monitor = only(objects, 'ServiceMonitor');
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    for (const endpoint of monitor.spec.endpoints) {
      expect(service.spec.ports.map((p: any) => p.name)).toContain(endpoint.port);
      expect(endpoint.path).toBe('/metrics');
    }
  });

  it('probes the service on its own port, and the metrics port only from the monitoring namespace', () => {
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(container[probe].httpGet.port).toBe('http');
      expect(['/health/live', '/health/ready']).toContain(container[probe].httpGet.path);
    }
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    const policy = only(objects, 'NetworkPolicy');
    const metricsRule = policy.spec.ingress.find((rule: any) => rule.ports.some((port: any) => port.port === 'metrics'));
    expect(metricsRule.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  });

  it('gives the graceful shutdown its time: preStop pause, then the 10 s deadline, within the grace period', () => {
    const [command, seconds] = container.lifecycle.preStop.exec.command;
    expect(command).toBe('sleep');
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(seconds) + SHUTDOWN_DEADLINE_MS / 1000);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it("caps V8's old space well inside the container's memory limit (V8 would size it from the machine)", () => {
    expect(container.command).toBeUndefined(); // tini stays the entrypoint
    const [node, cap, main] = container.args;
    expect([node, main]).toEqual(['node', 'dist/main.js']);
    const capMiB = Number(/^--max-old-space-size=(\d+)$/.exec(cap)?.[1]);
    const limitMiB = Number(/^(\d+)Mi$/.exec(container.resources.limits.memory)?.[1]);
    expect(capMiB).toBeGreaterThanOrEqual(256);
    expect(limitMiB - capMiB).toBeGreaterThanOrEqual(190);
  });

  it('runs every container as non-root on a read-only root filesystem, with resources', () => {
    for (const spec of objects.flatMap(podSpecsOf)) {
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of spec.containers) {
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
        expect(c.resources.limits.memory).toEqual(expect.any(String));
        const tmp = c.volumeMounts.find((mount: any) => mount.mountPath === '/tmp');
        expect(spec.volumes.find((volume: any) => volume.name === tmp.name).emptyDir).toBeDefined();
      }
    }
  });

  if (components.length) {
    it('migrates from the Job, which uses the same image and secret, and not at start', () => {
      const job = only(objects, 'Job', 'embedgate-migrate');
      const migrate = job.spec.template.spec.containers[0];
      expect(migrate.image).toBe(container.image);
      expect(migrate.args).toEqual(['node', 'dist/cli/main.js', 'db', 'migrate']);
      expect(configMap.data.MIGRATE_ON_START).toBe('false');
    });
  } else {
    it('migrates at start, under the advisory lock, with the startup probe waiting for it', () => {
      expect(configMap.data.MIGRATE_ON_START).toBe('true');
      expect(objects.some((object) => object.kind === 'Job')).toBe(false);
      expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(60);
    });
  }
});

/** Every metric the service exports, with its type and label names, as a scrape would list them. */
async function exportedMetrics(): Promise<Map<string, { type: string; labels: Set<string>; values: Map<string, Set<string>> }>> {
  const database = {
    seatsHeldByTenant: async () => [{ tenant: 'acme', value: 1 }],
    seatCapsByTenant: async () => [{ tenant: 'acme', value: 2 }],
    licenseSeats: async () => ({ budget: 10, held: 1 }),
    outboxCounts: async () => ({ pending: 0, failed: 0, oldestPendingSeconds: 0 }),
    ping: async () => undefined,
    poolCounts: () => ({ total: 1, idle: 1, waiting: 0 }),
  };
  const service = new MetricsService(database as never);
  const catalog = new Map<string, { type: string; labels: Set<string>; values: Map<string, Set<string>> }>();
  const labelNamesOf = (metric: any): string[] => metric.labelNames ?? [];
  for (const metric of await service.registry.getMetricsAsJSON()) {
    const values = new Map<string, Set<string>>();
    for (const sample of metric.values) {
      for (const [label, value] of Object.entries(sample.labels)) values.set(label, (values.get(label) ?? new Set()).add(String(value)));
    }
    const declared = labelNamesOf(service.registry.getSingleMetric(metric.name));
    const labels = new Set([...declared, ...values.keys()]);
    catalog.set(metric.name, { type: String(metric.type), labels, values });
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_count', '_sum'])
        catalog.set(`${metric.name}${suffix}`, { type: 'counter', labels: suffix === '_bucket' ? new Set([...labels, 'le']) : labels, values: new Map() });
    }
  }
  return catalog;
}

/** Labels Prometheus adds to every series from the scrape target. */
const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'pod', 'service', 'container', 'endpoint']);
/** Series Prometheus writes itself for every target it scrapes (`up`: 1 when the scrape succeeded). */
const PROMETHEUS_OWN = new Set(['up']);
/** The job embedgate's targets get: compose's job_name, and the Service's name under a ServiceMonitor (no jobLabel). */
const SCRAPE_JOB = 'embedgate';

/** The metric selectors of a PromQL expression (Grafana's variables filled in), and its syntax errors. */
function selectorsOf(expression: string) {
  const text = expression.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*');
  const tree = promql.parse(text);
  const errors: string[] = [];
  const selectors: { metric: string; matchers: { label: string; op: string; value: string }[] }[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from} in: ${text}`);
      if (node.name === 'VectorSelector') {
        const identifier = node.node.getChild('Identifier');
        const matchers = (node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []).map((matcher) => ({
          label: text.slice(matcher.getChild('LabelName')!.from, matcher.getChild('LabelName')!.to),
          op: text.slice(matcher.getChild('MatchOp')!.from, matcher.getChild('MatchOp')!.to),
          value: JSON.parse(text.slice(matcher.getChild('StringLiteral')!.from, matcher.getChild('StringLiteral')!.to)),
        }));
        if (identifier) selectors.push({ metric: text.slice(identifier.from, identifier.to), matchers });
      }
    },
  });
  return { errors, selectors };
}

describe('the dashboard and the alert rules', () => {
  const alerts = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'));
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/embedgate.json'), 'utf8'));
  const expressions: [string, string][] = [
    ...alerts.groups.flatMap((group: any) => group.rules.map((rule: any): [string, string] => [`alert ${rule.alert}`, rule.expr])),
    ...dashboard.panels
      .filter((panel: any) => panel.targets)
      .flatMap((panel: any) => panel.targets.map((target: any): [string, string] => [`panel "${panel.title}"`, target.expr])),
  ];

  it("the alerts' job is the one embedgate's targets get, in compose and under the ServiceMonitor", () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'deploy/compose/prometheus.yml'), 'utf8'));
    expect(compose.scrape_configs.map((config: any) => config.job_name)).toContain(SCRAPE_JOB);
    const [monitor] = readYamlDocuments(join(KUBERNETES, 'components', 'prometheus-operator', 'servicemonitor.yaml'));
    expect(monitor.spec.jobLabel).toBeUndefined();
    const [service] = readYamlDocuments(join(KUBERNETES, 'base', 'service.yaml'));
    expect(service.metadata.name).toBe(SCRAPE_JOB);
  });

  it('the Prometheus Operator rule holds the same alerts as deploy/prometheus/alerts.yml', () => {
    const [rule] = readYamlDocuments(join(KUBERNETES, 'components', 'prometheus-operator', 'prometheusrule.yaml'));
    expect(rule.spec).toEqual(alerts);
  });

  it('cover what an operator watches', () => {
    const alertNames = alerts.groups.flatMap((group: any) => group.rules.map((rule: any) => rule.alert));
    expect(alertNames).toEqual(
      expect.arrayContaining([
        'EmbedgateSeatBudgetNearlyExhausted',
        'EmbedgateOutboxGrowing',
        'EmbedgateDatabaseUnavailable',
        'EmbedgateHighErrorRate',
        'EmbedgateInstanceDown',
        'EmbedgateAbsent',
      ]),
    );
    const used = new Set(expressions.flatMap(([, expression]) => selectorsOf(expression).selectors.map((selector) => selector.metric)));
    for (const metric of [
      'embedgate_embeds_issued_total',
      'embedgate_embeds_denied_total',
      'embedgate_license_seats',
      'embedgate_http_request_duration_seconds_bucket',
      'embedgate_outbox_jobs',
      'embedgate_db_pool_connections',
    ]) {
      expect(used).toContain(metric);
    }
    for (const rule of alerts.groups.flatMap((group: any) => group.rules)) {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toEqual(expect.any(String));
    }
  });

  it.each(expressions)('%s parses and names only metrics, labels and label values embedgate exports', async (_where, expression) => {
    const catalog = await exportedMetrics();
    const { errors, selectors } = selectorsOf(expression);
    expect(errors).toEqual([]);
    expect(selectors.length).toBeGreaterThan(0);
    for (const { metric, matchers } of selectors) {
      if (PROMETHEUS_OWN.has(metric)) {
        // Prometheus's own series of each target: only target labels, and the job is embedgate's.
        for (const { label, value } of matchers) {
          expect({ metric, label, known: TARGET_LABELS.has(label) }).toEqual({ metric, label, known: true });
          if (label === 'job') expect(value).toBe(SCRAPE_JOB);
        }
        continue;
      }
      const exported = catalog.get(metric);
      expect({ metric, exported: !!exported }).toEqual({ metric, exported: true });
      for (const { label, op, value } of matchers) {
        expect({ metric, label, known: exported!.labels.has(label) || TARGET_LABELS.has(label) }).toEqual({ metric, label, known: true });
        // Where the service sets a label's values itself (kind, status, state), an equality must name one.
        const values = exported!.values.get(label);
        if (op === '=' && values && label !== 'tenant')
          expect({ metric, label, value, known: values.has(value) }).toEqual({ metric, label, value, known: true });
      }
    }
  });
});

describe('the image', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs as the numeric non-root user the manifests expect, under an init process, with a health check', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(runtime);
    expect(user).not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    const [deployment] = readYamlDocuments(join(KUBERNETES, 'base', 'deployment.yaml'));
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(Number(user![1]));
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n\s+CMD .*\/health\/ready/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/main.js"\]$/m);
  });

  it('copies from the build context only files that exist', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(' '));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources.filter((s) => s !== '.')) expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
  });
});

describe('docker-compose.yml', () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  const services = Object.entries(compose.services) as [string, any][];

  it.each(services.map(([name]) => [name]))('%s has a health check and a restart policy', (name) => {
    const service = compose.services[name];
    expect(service.healthcheck.test).toEqual(expect.any(Array));
    expect(service.restart).toBe('unless-stopped');
    for (const volume of service.volumes ?? []) {
      const [source] = String(volume).split(':');
      if (source.startsWith('./')) expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
    }
  });

  it('runs embedgate with Redis, the Metabase API key for reconciliation, and /metrics on its own port', () => {
    const embedgate = compose.services.embedgate;
    const names = Object.keys(embedgate.environment);
    expect(names.filter((name) => !KNOWN_ENV.has(name))).toEqual([]);
    expect(embedgate.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(embedgate.depends_on.redis.condition).toBe('service_healthy');
    expect(embedgate.environment.METABASE_API_KEY).toBe('${METABASE_API_KEY:-}');
    expect(embedgate.environment.METABASE_API_URL).toBe('http://metabase:3000');
    expect(String(embedgate.environment.METRICS_PORT)).toBe('9464');
    expect(embedgate.ports).toContain('127.0.0.1:9464:9464');
    expect(embedgate.healthcheck.test.join(' ')).toContain('/health/ready');
  });

  it('.env.example names only settings of embedgate or of another service in the compose file', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const names = [...readFileSync(join(ROOT, '.env.example'), 'utf8').matchAll(/^([A-Z0-9_]+)=/gm)].map((match) => match[1]);
    expect(names).toEqual(expect.arrayContaining(['METABASE_EMBEDDING_SECRET_KEY', 'METABASE_JWT_SHARED_SECRET', 'METABASE_API_KEY']));
    for (const name of names) {
      // Used by the compose file, and either an embedgate setting or Metabase's own (MB_*).
      expect({ name, used: text.includes(`\${${name}`), known: KNOWN_ENV.has(name) || name.startsWith('MB_') }).toEqual({ name, used: true, known: true });
    }
  });
});
