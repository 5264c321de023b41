import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Just enough of kustomize to build deploy/kubernetes/overlays/* here, where kustomize is not installed:
 * resources (files and directories), components, namespace, images, labels (without selectors) and
 * strategic-merge patches by kind and name. A kustomization using any other field is refused, so a new
 * feature cannot be silently ignored by the tests.
 */

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<
  string,
  any
>;

export interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization' | 'Component';
  resources?: string[];
  components?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  patches?: { path: string }[];
}

export const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace', 'images', 'labels', 'patches']);
/** Kinds that live outside any namespace. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);

/** Every document of a YAML file (comments and empty documents left out). */
export function readYamlDocuments(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => {
      if (document.errors.length) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
      return document.toJS();
    })
    .filter((document) => document !== null && document !== undefined);
}

export function readKustomization(dir: string): Kustomization {
  const [kustomization] = readYamlDocuments(join(dir, 'kustomization.yaml'));
  return kustomization as Kustomization;
}

/** The files and directories a kustomization names, resolved from its directory. */
export function referencedPaths(dir: string, kustomization: Kustomization): string[] {
  return [...(kustomization.resources ?? []), ...(kustomization.components ?? []), ...(kustomization.patches ?? []).map((patch) => patch.path)].map((path) =>
    join(dir, path),
  );
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Strategic merge, as kubectl applies it to the fields used here: maps merge, lists of named items merge by name, other lists are replaced. */
export function strategicMerge(base: any, patch: any): any {
  if (Array.isArray(base) && Array.isArray(patch) && [...base, ...patch].every((item) => isObject(item) && typeof item.name === 'string')) {
    const merged = base.map((item) => {
      const update = patch.find((candidate) => candidate.name === item.name);
      return update ? strategicMerge(item, update) : item;
    });
    return [...merged, ...patch.filter((item) => !base.some((existing) => existing.name === item.name))];
  }
  if (isObject(base) && isObject(patch)) {
    const merged: Record<string, any> = { ...base };
    for (const [key, value] of Object.entries(patch)) merged[key] = key in base ? strategicMerge(base[key], value) : value;
    return merged;
  }
  return patch;
}

/** The pod specs of an object (Deployment, Job, ...), to reach its containers. */
export function podSpecsOf(object: K8sObject): any[] {
  const spec = object.spec?.template?.spec;
  return spec ? [spec] : [];
}

function applyImages(object: K8sObject, images: NonNullable<Kustomization['images']>): void {
  for (const podSpec of podSpecsOf(object)) {
    for (const container of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
      const [name, tag] = String(container.image).split(':');
      const image = images.find((candidate) => candidate.name === name);
      if (image) container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
  }
}

/** Builds a kustomization directory into its objects, as `kubectl kustomize <dir>` would (for the fields above). */
export function build(dir: string, extraComponents: string[] = []): K8sObject[] {
  const kustomization = readKustomization(dir);
  const unsupported = Object.keys(kustomization).filter((field) => !SUPPORTED_FIELDS.has(field));
  if (unsupported.length)
    throw new Error(`${relative(process.cwd(), dir)}/kustomization.yaml uses ${unsupported.join(', ')}: teach test/support/kustomize.ts first`);
  let objects: K8sObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    objects.push(...(statSync(path).isDirectory() ? build(path) : (readYamlDocuments(path) as K8sObject[])));
  }
  for (const component of [...(kustomization.components ?? []), ...extraComponents]) {
    const componentDir = join(dir, component);
    const built = buildComponent(componentDir);
    objects.push(...built.resources);
    objects = applyPatches(objects, built.patches);
  }
  objects = applyPatches(
    objects,
    (kustomization.patches ?? []).map((patch) => readYamlDocuments(join(dir, patch.path))[0] as K8sObject),
  );
  for (const object of objects) {
    if (kustomization.namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
    for (const label of kustomization.labels ?? []) {
      if (label.includeSelectors) throw new Error('labels with includeSelectors are not supported here');
      object.metadata.labels = { ...object.metadata.labels, ...label.pairs };
    }
    if (kustomization.images) applyImages(object, kustomization.images);
  }
  return objects;
}

function buildComponent(dir: string): { resources: K8sObject[]; patches: K8sObject[] } {
  const component = readKustomization(dir);
  if (component.kind !== 'Component') throw new Error(`${dir} is not a kustomize Component`);
  return {
    resources: (component.resources ?? []).flatMap((resource) => readYamlDocuments(join(dir, resource)) as K8sObject[]),
    patches: (component.patches ?? []).map((patch) => readYamlDocuments(join(dir, patch.path))[0] as K8sObject),
  };
}

function applyPatches(objects: K8sObject[], patches: K8sObject[]): K8sObject[] {
  for (const patch of patches) {
    const index = objects.findIndex((object) => object.kind === patch.kind && object.metadata.name === patch.metadata.name);
    if (index === -1) throw new Error(`a patch targets ${patch.kind}/${patch.metadata.name}, which the kustomization does not have`);
    objects[index] = strategicMerge(objects[index], patch);
  }
  return objects;
}

/** Every kustomization directory under `root`. */
export function kustomizationDirs(root: string): string[] {
  const found = existsSync(join(root, 'kustomization.yaml')) ? [root] : [];
  for (const entry of readdirSync(root).sort()) {
    if (statSync(join(root, entry)).isDirectory()) found.push(...kustomizationDirs(join(root, entry)));
  }
  return found;
}
