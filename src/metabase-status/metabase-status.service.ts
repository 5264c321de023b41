import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { Transactions } from '../database/transactions.js';
import { checkMetabase } from '../metabase/admin/check-metabase.js';
import { buildExpectations, type MetabaseExpectations } from '../metabase/admin/expectations.js';
import type { Finding, Severity } from '../metabase/admin/findings.js';
import { isolationProof, unprovenTenants } from '../metabase/admin/isolation-proof.js';
import { MetabaseAdminClient, type PermissionsGroup } from '../metabase/admin/metabase-admin.client.js';
import { collectSnapshot, type MetabaseSnapshot } from '../metabase/admin/metabase-snapshot.js';
import {
  applySync,
  planSync,
  planTableSecurity,
  proposeSandboxes,
  type ProposedSandbox,
  type SyncOutcome,
  type SyncPlan,
} from '../metabase/admin/sync-plan.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { ATTR, inWorkerSpan, WORKER } from '../tracing/spans.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { FAIL_CLOSED_DEFAULT, type FailClosedSetting } from './fail-closed.js';
import { FailClosedRepository } from './fail-closed.repository.js';

/** The result of one configuration check, kept in memory as the last one. No secret: the snapshot holds only HMACs. */
export interface CheckResult {
  checkedAt: Date;
  findings: Finding[];
  counts: Record<Severity, number>;
  /** External drill tenants whose group sets the check proved isolated. */
  provenTenants: string[];
  /**
   * Each proven tenant's own `groups` when it was checked (JSON): the proof is of that group set, so a
   * tenant whose groups changed since is unproven until the next check.
   */
  provenGroups: Record<string, string>;
  /** External drill tenants it did not (the policy refuses them SSO while fail-closed is on). */
  unprovenTenants: string[];
  /** Metabase's groups as read (for the identity check's group names), null when unread. */
  groups: PermissionsGroup[] | null;
  /** Metabase's use-tenants as read. */
  tenantsOn: boolean;
  /** Metabase's tenants as read (id and slug), null when unread. */
  metabaseTenants: { id: number; slug: string }[] | null;
}

export interface MetabaseStatus {
  configured: boolean;
  failClosed: { enabled: boolean; reason: string; actor: string | null; changedAt: string | null };
  checkIntervalMinutes: number;
  lastCheck: {
    checkedAt: string;
    stale: boolean;
    counts: Record<Severity, number>;
    findings: Finding[];
    tenants: { proven: string[]; unproven: string[] };
  } | null;
}

export interface SyncResult {
  dryRun: boolean;
  plan: SyncPlan;
  applied: { action: string; object: string; result: string }[];
  failed?: { action: string; object: string; status?: number; message: string };
}

const PAGE = 200;

/**
 * Keeps Metabase in step with embedgate: the configuration check (on a schedule, on demand), its
 * last result in memory (what MetabaseSafety decides from), the sync and the sandbox file, and the
 * fail-closed switch. Every call to Metabase's admin API goes through one MetabaseAdminClient
 * (METABASE_API_KEY, with its timeout); nothing here logs a response body.
 */
@Injectable()
export class MetabaseStatusService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('MetabaseStatus');
  private readonly client?: MetabaseAdminClient;
  private last: CheckResult | null = null;
  private running: Promise<CheckResult> | null = null;
  private failClosedSetting: FailClosedSetting = FAIL_CLOSED_DEFAULT;
  /** Moves with each local change of the switch: a read that started before one must not overwrite it. */
  private failClosedVersion = 0;
  private lastRequestedAt = 0;

  constructor(
    @Inject(CONFIG) private readonly config: Pick<Config, 'metabase' | 'groups' | 'metabaseTenants'>,
    private readonly tenants: TenantsService,
    private readonly resources: ResourcesService,
    private readonly audit: AuditService,
    private readonly transactions: Transactions,
    private readonly failClosedStore: FailClosedRepository,
    private readonly metrics: MetricsService,
    private readonly scheduler: SchedulerRegistry,
  ) {
    const api = config.metabase.api;
    if (api) this.client = new MetabaseAdminClient(api);
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  get intervalMs(): number {
    return this.config.metabase.checkIntervalMinutes * 60_000;
  }

  /** The last check, or null before the first one completes. */
  lastCheck(): CheckResult | null {
    return this.last;
  }

  /** Older than 3 intervals: the schedule has not kept it fresh, so it proves nothing any more. */
  isStale(check: CheckResult, now = Date.now()): boolean {
    return now - check.checkedAt.getTime() > 3 * this.intervalMs;
  }

  failClosed(): FailClosedSetting {
    return this.failClosedSetting;
  }

  async onModuleInit(): Promise<void> {
    await this.reloadFailClosed();
  }

  /** The switch as stored (another instance may have changed it), unless this instance changed it meanwhile. */
  private async reloadFailClosed(): Promise<void> {
    const version = this.failClosedVersion;
    const stored = await this.failClosedStore.get();
    if (version === this.failClosedVersion) this.failClosedSetting = stored;
  }

  /** With the API key, checks soon after start and then every METABASE_CHECK_INTERVAL_MINUTES (timers the CLI clears). */
  onApplicationBootstrap(): void {
    if (!this.client) return;
    const run = () => void this.refresh();
    this.scheduler.addTimeout('metabase-check-first', setTimeout(run, 0));
    this.scheduler.addInterval('metabase-check', setInterval(run, this.intervalMs));
  }

  /**
   * A scheduled or requested run, in a trace of its own (a request that asks for one does not wait for
   * it): the switch as another instance may have set it, then the check; failures are logged (without bodies).
   */
  private refresh(): Promise<void> {
    return inWorkerSpan(WORKER.metabaseCheck, async (span) => {
      try {
        await this.reloadFailClosed();
        const { counts } = await this.check();
        span.set({ [ATTR.blockingFindings]: counts.blocking, [ATTR.warningFindings]: counts.warning });
      } catch (error) {
        span.fail(error);
        this.logger.warn(`the scheduled Metabase check failed: ${(error as Error).message}`);
      }
    });
  }

  /**
   * Asks for a check soon, in the background (at most one a minute): a verdict about a tenant the last
   * check did not cover (new, or made drill since) need not wait for the schedule.
   */
  requestCheck(now = Date.now()): void {
    if (!this.client || this.running || now - this.lastRequestedAt < 60_000) return;
    this.lastRequestedAt = now;
    void this.refresh();
  }

  private requireClient(): MetabaseAdminClient {
    if (!this.client) throw new ApiError(409, 'metabase_api_not_configured', 'METABASE_API_KEY is not set: Metabase cannot be checked or provisioned');
    return this.client;
  }

  /** Runs the check now (one at a time per instance: a caller during a run gets that run's result). */
  check(): Promise<CheckResult> {
    this.requireClient();
    this.running ??= this.runCheck().finally(() => (this.running = null));
    return this.running;
  }

  private async runCheck(): Promise<CheckResult> {
    const { snapshot, expectations, tenantGroups } = await this.read();
    const findings = checkMetabase(snapshot, expectations);
    const external = expectations.groupSets.filter((s) => s.kind === 'external').flatMap((s) => s.tenants);
    let proven: string[] = [];
    let unproven = [...new Set(external)].sort();
    if (snapshot.reachable) {
      const proofs = isolationProof(snapshot, expectations);
      unproven = unprovenTenants(proofs);
      proven = [...new Set(proofs.filter((p) => p.proven).flatMap((p) => p.set.tenants))].filter((t) => !unproven.includes(t)).sort();
    }
    const counts: Record<Severity, number> = { blocking: 0, warning: 0, info: 0 };
    for (const f of findings) counts[f.severity]++;
    const result: CheckResult = {
      checkedAt: new Date(),
      findings,
      counts,
      provenTenants: proven,
      provenGroups: Object.fromEntries(proven.map((slug) => [slug, tenantGroups.get(slug) ?? groupsKey(null)])),
      unprovenTenants: unproven,
      groups: snapshot.groups,
      tenantsOn: snapshot.settings['use-tenants'] === true,
      metabaseTenants: snapshot.tenants?.map((t) => ({ id: t.id, slug: t.slug })) ?? null,
    };
    this.last = result;
    for (const severity of Object.keys(counts) as Severity[]) this.metrics.metabaseFindings.set({ severity }, counts[severity]);
    return result;
  }

  /** The status for the API and the console: the last check (running one when there is none yet, unless told not to). */
  async status(options: { runIfNone?: boolean } = {}): Promise<MetabaseStatus> {
    let check = this.last;
    if (this.client && !check && options.runIfNone !== false) check = await this.check();
    const f = this.failClosedSetting;
    return {
      configured: this.configured,
      failClosed: { enabled: f.enabled, reason: f.reason, actor: f.actor, changedAt: f.changedAt?.toISOString() ?? null },
      checkIntervalMinutes: this.config.metabase.checkIntervalMinutes,
      lastCheck: check
        ? {
            checkedAt: check.checkedAt.toISOString(),
            stale: this.isStale(check),
            counts: check.counts,
            findings: check.findings,
            tenants: { proven: check.provenTenants, unproven: check.unprovenTenants },
          }
        : null,
    };
  }

  /** Turns fail-closed on or off: stored for every instance, audited, in effect here at once. */
  async setFailClosed(change: { enabled: boolean; reason: string }, actor: string): Promise<FailClosedSetting> {
    const setting = await this.transactions.run(async (tx) => {
      const previous = await this.failClosedStore.get(tx);
      const stored = await this.failClosedStore.set({ ...change, actor }, tx);
      await this.audit.record(tx, {
        type: 'metabase.fail_closed_changed',
        actor,
        data: { enabled: change.enabled, previous: previous.enabled, reason: change.reason },
      });
      return stored;
    });
    this.failClosedVersion++;
    this.failClosedSetting = setting;
    return setting;
  }

  /**
   * The sync: the plan, then (unless a dry run) its steps in order, each audited; a step that fails
   * stops the rest and is audited too. A fresh check follows an applied sync.
   */
  async sync(options: { dryRun: boolean; actor: string }): Promise<SyncResult> {
    const client = this.requireClient();
    const { snapshot, expectations } = await this.read();
    const plan = planSync(snapshot, expectations);
    if (options.dryRun || plan.steps.length === 0) return { dryRun: options.dryRun, plan, applied: [] };
    const outcome = await applySync(client, plan);
    return this.recordOutcome(plan, outcome, options.actor);
  }

  /** The sandbox proposals (table, field) for the operator's file: never applied without the operator's edit. */
  async proposeSandboxes(): Promise<ProposedSandbox[]> {
    this.requireClient();
    const { snapshot, expectations } = await this.read();
    return proposeSandboxes(snapshot, expectations);
  }

  /** Applies the operator's edited sandbox file (table security steps), audited like the sync. */
  async applySandboxes(file: ProposedSandbox[], options: { dryRun: boolean; actor: string }): Promise<SyncResult> {
    const client = this.requireClient();
    const { snapshot } = await this.read();
    const plan = planTableSecurity(snapshot, file);
    if (options.dryRun || plan.steps.length === 0) return { dryRun: options.dryRun, plan, applied: [] };
    const outcome = await applySync(client, plan);
    return this.recordOutcome(plan, outcome, options.actor);
  }

  private async recordOutcome(plan: SyncPlan, outcome: SyncOutcome, actor: string): Promise<SyncResult> {
    const applied = outcome.applied.map(({ step, result }) => ({ action: step.action, object: step.object, result }));
    const failed = outcome.failed && {
      action: outcome.failed.step.action,
      object: outcome.failed.step.object,
      status: outcome.failed.status,
      message: outcome.failed.message,
    };
    await this.transactions.run(async (tx) => {
      for (const step of applied) await this.audit.record(tx, { type: 'metabase.sync_step', actor, data: step });
      if (failed) await this.audit.record(tx, { type: 'metabase.sync_failed', actor, data: failed });
    });
    if (applied.length > 0) await this.check().catch((error: unknown) => this.logger.warn(`the check after the sync failed: ${(error as Error).message}`));
    return { dryRun: false, plan, applied, ...(failed ? { failed } : {}) };
  }

  private async read(): Promise<{ snapshot: MetabaseSnapshot; expectations: MetabaseExpectations; tenantGroups: Map<string, string> }> {
    const client = this.requireClient();
    const { expectations, tenantGroups } = await this.expectationsAndGroups();
    const snapshot = await collectSnapshot(client, { resources: expectations.resources });
    return { snapshot, expectations, tenantGroups };
  }

  /** What embedgate expects of Metabase, from its tenants, resources and config. */
  async expectations(): Promise<MetabaseExpectations> {
    return (await this.expectationsAndGroups()).expectations;
  }

  private async expectationsAndGroups(): Promise<{ expectations: MetabaseExpectations; tenantGroups: Map<string, string> }> {
    const [tenants, resources] = await Promise.all([
      allPages((cursor) => this.tenants.list(PAGE, cursor)),
      allPages((cursor) => this.resources.list(PAGE, cursor)),
    ]);
    const tenantGroups = new Map(tenants.map((t) => [t.slug, groupsKey(t.groups)]));
    const expectations = buildExpectations({
      secrets: { embeddingSecretKey: this.config.metabase.embeddingSecretKey, jwtSharedSecret: this.config.metabase.jwtSharedSecret },
      resources: resources.map((r) => ({ key: r.key, type: r.type, metabaseId: r.metabaseId, tenantParam: r.guest ? r.tenantParam : null })),
      tenants: tenants.map((t) => ({ slug: t.slug, name: t.name, kind: t.kind, tier: t.tier, status: t.status, groups: t.groups })),
      groups: this.config.groups,
      metabaseTenants: this.config.metabaseTenants,
      userProvisioning: this.config.metabase.userProvisioning,
    });
    return { expectations, tenantGroups };
  }
}

/** A tenant's own groups (null: its kind's default) in a comparable form. */
export const groupsKey = (groups: readonly string[] | null | undefined): string => JSON.stringify(groups ?? null);

async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor);
  return items;
}
