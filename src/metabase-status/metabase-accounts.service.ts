import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { groupNamed, implicitGroup } from '../metabase/admin/isolation-proof.js';
import { MetabaseAdminClient, MetabaseAdminError, type MetabaseAccount, type PermissionsGroup } from '../metabase/admin/metabase-admin.client.js';
import type { MetabaseUser } from '../metabase/metabase-api.client.js';
import { MetabaseSafety } from './metabase-safety.service.js';
import { MetabaseStatusService } from './metabase-status.service.js';

/** The Metabase account an SSO user of a tenant must have: what the SSO token would say of them. */
export interface AccountSpec {
  /** The email the token carries (the tenant's alias of it, normalized). */
  email: string;
  tenant: { slug: string; kind: 'internal' | 'external' };
  /** Group names: the tenant's (or its kind's default); the role's come with the JWT login's group sync. */
  groups: string[];
  /** The token's attributes (customer_id and the tenant's), as strings: Metabase stores them so. */
  attributes: Record<string, string>;
}

/** How long an account found active and in step is taken as such: a held seat's embeds make no Metabase call meanwhile. */
const ENSURED_TTL_MS = 60_000;
const ENSURED_MAX = 10_000;

/** Why an account could not be ensured: the embed fails with 503 (and a seat this request took is given back). */
const unavailable = (why: string) =>
  new ApiError(503, 'metabase_account_unavailable', `the SSO user's Metabase account could not be made ready: ${why}; no SSO token was given`);

const sameAttributes = (a: Record<string, string> | null | undefined, b: Record<string, string>) => {
  const left = Object.entries(a ?? {});
  return left.length === Object.keys(b).length && left.every(([key, value]) => b[key] === value);
};

/**
 * METABASE_USER_PROVISIONING=embedgate: embedgate, not Metabase's JWT login, decides who has a
 * Metabase account. When a seat is taken, the user's account is looked up by email and created (the
 * tenant's groups and attributes, with the Metabase tenant in METABASE_TENANTS mode), or reactivated
 * and reset; every change is audited. An account Metabase would send an invitation (no tenant_id while
 * its email is configured: users_rest/api.clj `invite-user`) is never created: that fails closed.
 */
@Injectable()
export class MetabaseAccounts {
  private readonly admin?: MetabaseAdminClient;
  /** Emails whose account was found active and in step, until when. */
  private readonly ensured = new Map<string, number>();
  /** One reconciliation per email at a time on this instance: concurrent first embeds share it. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    @Inject(CONFIG) private readonly config: Pick<Config, 'metabase' | 'metabaseTenants'>,
    private readonly status: MetabaseStatusService,
    private readonly audit: AuditService,
    private readonly safety: MetabaseSafety,
  ) {
    const api = config.metabase.api;
    if (api && config.metabase.userProvisioning === 'embedgate') {
      this.admin = new MetabaseAdminClient(api);
    }
  }

  /** Whether embedgate creates the accounts (METABASE_USER_PROVISIONING=embedgate; the config requires the API key then). */
  get enabled(): boolean {
    return this.admin !== undefined;
  }

  /**
   * Makes sure the user has an active Metabase account with the tenant's groups and attributes.
   * `fresh` (a seat just taken) asks Metabase whatever was seen lately. Throws 503
   * metabase_account_unavailable when it cannot: Metabase unreachable or refusing, a group or Metabase
   * tenant unknown, or an invitation email that creating the account would send.
   */
  async ensure(spec: AccountSpec, options: { fresh: boolean; actor: string }): Promise<void> {
    if (!this.enabled) return;
    const key = spec.email.toLowerCase();
    if (!options.fresh && (this.ensured.get(key) ?? 0) > Date.now()) return;
    const running = this.running.get(key);
    if (running) return running;
    const work = this.reconcile(spec, options.actor)
      .then(() => {
        this.ensured.delete(key);
        if (this.ensured.size >= ENSURED_MAX) this.ensured.delete(this.ensured.keys().next().value!);
        this.ensured.set(key, Date.now() + ENSURED_TTL_MS);
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, work);
    return work;
  }

  private async reconcile(spec: AccountSpec, actor: string, retried = false): Promise<void> {
    const found = await this.lookUp(spec.email);
    // The identity check the embed made may be a minute old: an account is written to only if, as read
    // just now, it is one this tenant's user may have (not an admin's, another tenant's, or in other groups).
    for (const user of found) {
      const problem = await this.safety.problemOf(user, spec.tenant);
      if (problem) throw new ApiError(403, 'identity_unsafe', `${problem}: embedgate will not sign this email in for tenant '${spec.tenant.slug}'`);
    }
    const active = found.find((user) => user.is_active);
    if (active) return this.keepAttributes(active, spec, actor);
    if (found.length > 0) {
      try {
        return await this.reactivate(found[0], spec, actor);
      } catch (error) {
        // Reactivated meanwhile (a sibling request, another instance): "Not able to reactivate an active user". Read again, once.
        if (!(error instanceof ReactivatedMeanwhile)) throw error;
        if (retried) throw unavailable('the account could not be reactivated (Metabase answered 400)');
        return this.reconcile(spec, actor, true);
      }
    }
    const created = await this.create(spec, actor);
    if (created === 'created') return;
    // A 400: "Email address already in use." when it was created meanwhile (another request or
    // instance), taken as found, once; anything else is Metabase refusing the account.
    if (retried) throw unavailable(`the account could not be created (${created.refused})`);
    return this.reconcile(spec, actor, true);
  }

  /** Every account with this email, active or not, asked now (MetabaseSafety's lookup). */
  private async lookUp(email: string): Promise<MetabaseUser[]> {
    try {
      return await this.safety.usersByEmail(email);
    } catch (error) {
      throw unavailable(`Metabase could not be asked for the account (${(error as Error).message})`);
    }
  }

  private async create(spec: AccountSpec, actor: string): Promise<'created' | { refused: string }> {
    const tenantId = await this.metabaseTenantId(spec);
    const memberships = await this.memberships(spec, tenantId);
    // Without tenant_id Metabase sends the new user an invitation when its email is configured: never.
    if (tenantId === null) await this.refuseIfEmailConfigured();
    let account: MetabaseAccount;
    try {
      account = await this.admin!.createUser({
        email: spec.email,
        user_group_memberships: memberships,
        login_attributes: spec.attributes,
        ...(tenantId === null ? {} : { tenant_id: tenantId }),
      });
    } catch (error) {
      if (error instanceof MetabaseAdminError && error.status === 400) return { refused: error.message };
      throw unavailable(`the account could not be created (${(error as Error).message})`);
    }
    await this.record('metabase.account_created', account, spec, actor, tenantId);
    return 'created';
  }

  /** A deactivated account: reactivated (Metabase forces is_superuser false), then its groups and attributes reset. */
  private async reactivate(user: MetabaseUser, spec: AccountSpec, actor: string): Promise<void> {
    const tenantId = user.tenant_id ?? null;
    const memberships = await this.memberships(spec, tenantId);
    try {
      await this.admin!.reactivateUser(user.id);
    } catch (error) {
      if (error instanceof MetabaseAdminError && error.status === 400) throw new ReactivatedMeanwhile();
      throw unavailable(`the account could not be reactivated (${(error as Error).message})`);
    }
    const account = await this.write('reset', () =>
      this.admin!.updateUser(user.id, { user_group_memberships: memberships, login_attributes: spec.attributes }),
    );
    await this.record('metabase.account_reactivated', account, spec, actor, tenantId);
  }

  /**
   * An active account keeps its groups (the JWT login's group sync and the identity check see to
   * them), but its login_attributes win over the token's: they are put back to the token's when they differ.
   */
  private async keepAttributes(user: MetabaseUser, spec: AccountSpec, actor: string): Promise<void> {
    if (user.login_attributes === undefined || sameAttributes(user.login_attributes, spec.attributes)) return;
    const account = await this.write('updated', () => this.admin!.updateUser(user.id, { login_attributes: spec.attributes }));
    await this.record('metabase.account_updated', account, spec, actor, user.tenant_id ?? null);
  }

  /** The Metabase tenant's id for an external tenant in METABASE_TENANTS mode; null otherwise (an internal Metabase user). */
  private async metabaseTenantId(spec: AccountSpec): Promise<number | null> {
    if (!this.config.metabaseTenants || spec.tenant.kind !== 'external') return null;
    const tenants = this.status.lastCheck()?.metabaseTenants ?? (await this.read('its tenants', () => this.admin!.tenants()));
    const own = tenants.find((t) => t.slug === spec.tenant.slug);
    if (!own) throw unavailable(`Metabase has no tenant '${spec.tenant.slug}' (run the sync: POST /v1/metabase/sync)`);
    return own.id;
  }

  /** The group ids: the magic all-users group (Metabase requires it) and the tenant's groups, by name from the last check. */
  private async memberships(spec: AccountSpec, tenantId: number | null): Promise<{ id: number }[]> {
    const groups: PermissionsGroup[] = this.status.lastCheck()?.groups ?? (await this.read('its groups', () => this.admin!.groups()));
    const implicit = implicitGroup(groups, tenantId === null ? 'internal' : 'external', true);
    if (!implicit) throw unavailable(`Metabase's ${tenantId === null ? 'All Users' : 'All tenant users'} group is not known`);
    const ids = [implicit.id];
    for (const name of spec.groups) {
      const group = groupNamed(groups, name);
      if (!group) throw unavailable(`Metabase has no group '${name}' (run the sync, then the check)`);
      if (group.magic_group_type === 'admin') throw unavailable(`group '${name}' is Metabase's Administrators`);
      if (!ids.includes(group.id)) ids.push(group.id);
    }
    return ids.map((id) => ({ id }));
  }

  private async refuseIfEmailConfigured(): Promise<void> {
    const properties = await this.read('whether its email is configured', () => this.admin!.sessionProperties());
    // :public, getter (boolean (email-smtp-host)) (src/metabase/channel/settings.clj); unknown counts as configured.
    if (properties['email-configured?'] !== false) {
      const state = properties['email-configured?'] === true ? 'Metabase has email (SMTP) configured' : "whether Metabase's email is configured cannot be read";
      throw unavailable(
        `${state}, so creating the account could send the user an invitation; embedgate creates none (see GET /v1/metabase/status, account_invite_email)`,
      );
    }
  }

  private async read<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw unavailable(`Metabase's ${what} could not be read (${(error as Error).message})`);
    }
  }

  private async write(what: string, call: () => Promise<MetabaseAccount>): Promise<MetabaseAccount> {
    try {
      return await call();
    } catch (error) {
      throw unavailable(`the account could not be ${what} (${(error as Error).message})`);
    }
  }

  private async record(type: string, account: MetabaseAccount, spec: AccountSpec, actor: string, tenantId: number | null): Promise<void> {
    await this.audit.record(undefined, {
      type,
      actor,
      tenantSlug: spec.tenant.slug,
      data: { email: spec.email, metabaseUserId: account.id, groups: spec.groups, attributes: Object.keys(spec.attributes).sort(), metabaseTenantId: tenantId },
    });
  }
}

/** Metabase answered 400 to a reactivation: the account is active again already (or cannot be: the next read says which). */
class ReactivatedMeanwhile extends Error {}
