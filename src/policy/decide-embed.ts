/**
 * The policy engine: decides, for one embed request, between a guest embed, an SSO embed or a
 * denial, and says which rule fired and why. Pure: no I/O, no clock; callers pass everything in.
 * The rules are those of the REST contract (docs: api-v1.md, "Default routing").
 */

export type EmbedMode = 'guest' | 'sso' | 'deny';

export type RuleName =
  | 'tenant-not-found' // rule 1: unknown, or outside the calling app's scope (indistinguishable on purpose)
  | 'tenant-suspended' // rule 1
  | 'resource-not-found' // rule 2
  | 'internal-tenant' // rule 3
  | 'external-view-tier' // rule 4
  | 'internal-view-tier' // rule 4, for an internal tenant an admin moved to the view tier
  | 'external-drill-tier' // rule 5
  | 'sso-email-required' // SSO needs the user's email: Metabase matches SSO users by it
  | 'guest-resource-required' // rule 6: the resource is not guest-embeddable
  | 'guest-customer-id-required' // rule 6: no customerId to lock the tenant filter to
  | 'sso-not-granted' // an SSO identity (SDK flow) was asked for, but the user would get a guest embed
  | 'isolation-unverified' // an external tenant's Metabase groups are not proven isolated: no SSO, falls back like exhausted seats
  | 'email-domain-not-allowed' // the user's email is outside the tenant's email domains: no SSO
  | 'identity-unsafe' // Metabase would sign this email in as someone else (a superuser, another tenant's user, ...)
  | 'guest-requested'; // embed.js asked for a guest token (GET-less guest provider): view-only, no seat, whatever the tier

export interface PolicyTenant {
  slug: string;
  kind: 'internal' | 'external';
  tier: 'view' | 'drill';
  status: 'active' | 'suspended';
  customerId: string | null;
  onSeatsExhausted: 'guest' | 'deny';
}

export interface PolicyResource {
  key: string;
  guest: boolean;
  tenantParam: string | null;
}

/**
 * Whether Metabase was proven to isolate the tenant's SSO users (MetabaseSafety's last check):
 * 'not-enforced' when nothing is checked (no Metabase API key, or fail-closed turned off by an admin).
 */
export type IsolationState = 'proven' | 'unverified' | 'not-enforced';

/** What the seat ledger says about this user: a seat held, one free to take, or none left. */
export type SeatAvailability = 'held' | 'available' | 'budget-exhausted' | 'cap-exhausted';

export interface EmbedPolicyInput {
  /**
   * 'embed' (default): an embed of a resource. 'sso-identity': an SSO identity alone, for Metabase's
   * embedding SDK (POST /v1/sso/jwt, GET /v1/sdk/sso): no resource, and only an SSO decision is of use.
   * 'guest-token': a guest token of the resource for embed.js's guest provider (POST /v1/sdk/guest):
   * only a guest decision is of use, and it needs no seat whatever the tenant's tier.
   */
  purpose?: 'embed' | 'sso-identity' | 'guest-token';
  /** null: no tenant with that slug. */
  tenant: PolicyTenant | null;
  /** Whether the calling app may act for this tenant. */
  tenantInScope: boolean;
  /** null: no resource with that key (ignored for purpose 'sso-identity'). */
  resource: PolicyResource | null;
  user: {
    email: string | null;
    /** The email is in one of the tenant's email domains (false when there is no email or no domain). */
    emailAllowed: boolean;
  };
  seat: SeatAvailability;
  /** Isolation of the tenant's group set in Metabase; only 'unverified' refuses SSO (external tenants). */
  isolation: IsolationState;
  /** What the last isolation check said (for the reasons of an 'isolation-unverified' decision). */
  isolationReason?: string;
  /**
   * Why Metabase would sign this email in as someone else (a superuser, a user in groups outside the
   * tenant's set, another Metabase tenant's user), or null/absent when safe or not checked. Known only
   * after a first decision says SSO (it is a Metabase lookup): then the caller decides again with it.
   */
  identityProblem?: string | null;
}

export interface Denial {
  status: 400 | 403 | 404 | 409;
  code: string;
}

export interface Decision {
  mode: EmbedMode;
  rule: RuleName;
  reasons: string[];
  /** Set when mode is 'deny': the HTTP status and error code the API answers with. */
  denial?: Denial;
  /**
   * Set on an SSO decision made with a seat 'available': the decision for each other answer the seat
   * ledger may give, so that a request is decided once, before the ledger is asked.
   */
  bySeat?: Record<Exclude<SeatAvailability, 'available'>, Decision>;
}

const deny = (rule: RuleName, denial: Denial, reasons: string[]): Decision => ({ mode: 'deny', rule, reasons, denial });

/** A customerId Metabase can lock a filter to: non-empty once trimmed. */
export function isUsableCustomerId(customerId: string | null | undefined): customerId is string {
  return typeof customerId === 'string' && customerId.trim().length > 0;
}

export function decideEmbed(input: EmbedPolicyInput): Decision {
  const decision = decideFor(input);
  if (decision.mode !== 'sso' || input.seat !== 'available') return decision;
  const other = (seat: Exclude<SeatAvailability, 'available'>) => decideFor({ ...input, seat });
  return { ...decision, bySeat: { held: other('held'), 'cap-exhausted': other('cap-exhausted'), 'budget-exhausted': other('budget-exhausted') } };
}

function decideFor(input: EmbedPolicyInput): Decision {
  const { tenant, resource } = input;

  // Rule 1. Unknown and out-of-scope answer alike, so an app cannot probe other tenants.
  if (!tenant || !input.tenantInScope) {
    return deny('tenant-not-found', { status: 404, code: 'tenant_not_found' }, ['the tenant does not exist or is outside this app’s scope']);
  }
  if (tenant.status !== 'active') {
    return deny('tenant-suspended', { status: 403, code: 'tenant_suspended' }, [`tenant '${tenant.slug}' is suspended`]);
  }
  const identityOnly = input.purpose === 'sso-identity';
  // Rule 2.
  if (!resource && !identityOnly) {
    return deny('resource-not-found', { status: 404, code: 'resource_not_found' }, ['the resource is not registered']);
  }
  // A guest token is view-only and locked to the tenant's own customerId: safe for any tier, no seat.
  if (input.purpose === 'guest-token') {
    return guestOrDeny(tenant, resource!, 'guest-requested', [`a view-only guest token of '${resource!.key}' for tenant '${tenant.slug}' was asked for`]);
  }

  if (tenant.tier === 'drill') {
    // Rules 3 and 5: drill-through means an SSO user, and every SSO user holds a seat.
    const rule: RuleName = tenant.kind === 'internal' ? 'internal-tenant' : 'external-drill-tier';
    const why =
      tenant.kind === 'internal'
        ? `tenant '${tenant.slug}' is internal: staff get SSO embeds with drill-through`
        : `tenant '${tenant.slug}' is on the drill tier`;
    // Fail closed: an SSO login puts the user in the tenant's Metabase groups; unproven, they may see
    // other tenants' data. Falls back exactly like exhausted seats (onSeatsExhausted).
    if (tenant.kind === 'external' && input.isolation === 'unverified') {
      const unverified = `Metabase has not proven tenant '${tenant.slug}'’s groups isolated${input.isolationReason ? ` (${input.isolationReason})` : ''}`;
      if (tenant.onSeatsExhausted === 'deny' || identityOnly) {
        return deny('isolation-unverified', { status: 403, code: 'isolation_unverified' }, [why, unverified, 'no SSO until the isolation check passes']);
      }
      return guestOrDeny(tenant, resource!, 'isolation-unverified', [why, unverified, 'falling back to a view-only guest embed (onSeatsExhausted: guest)']);
    }
    if (input.seat === 'held' || input.seat === 'available') {
      if (!input.user.email) {
        return deny('sso-email-required', { status: 400, code: 'email_required' }, [
          why,
          'an SSO embed needs user.email: Metabase identifies SSO users by email',
        ]);
      }
      if (!input.user.emailAllowed) {
        return deny('email-domain-not-allowed', { status: 403, code: 'email_domain_not_allowed' }, [
          why,
          `user.email is not in tenant '${tenant.slug}'’s email domains: SSO is only for them`,
        ]);
      }
      if (input.identityProblem) {
        return deny('identity-unsafe', { status: 403, code: 'identity_unsafe' }, [
          why,
          input.identityProblem,
          'Metabase signs in any existing user by email: this one must not be signed in for this tenant',
        ]);
      }
      const seatReason = input.seat === 'held' ? 'the user already holds a seat' : 'a seat is free within the tenant cap and the seat budget';
      return { mode: 'sso', rule, reasons: [why, seatReason] };
    }
    const exhausted = input.seat === 'cap-exhausted' ? `tenant '${tenant.slug}' has reached its seat cap` : 'the seat budget is exhausted';
    if (tenant.onSeatsExhausted === 'deny') {
      return deny(rule, { status: 409, code: 'seats_exhausted' }, [why, exhausted, 'the tenant is set to deny when seats are exhausted']);
    }
    if (identityOnly) return notGranted([why, exhausted]);
    return guestOrDeny(tenant, resource!, rule, [why, exhausted, 'falling back to a view-only guest embed (onSeatsExhausted: guest)']);
  }

  // Rule 4.
  const rule: RuleName = tenant.kind === 'internal' ? 'internal-view-tier' : 'external-view-tier';
  const viewOnly = `tenant '${tenant.slug}' is on the view tier: view-only guest embed, no seat`;
  if (identityOnly) return notGranted([viewOnly]);
  return guestOrDeny(tenant, resource!, rule, [viewOnly]);
}

const notGranted = (reasons: string[]): Decision =>
  deny('sso-not-granted', { status: 403, code: 'sso_not_granted' }, [...reasons, 'an SSO identity is only given to users routed to SSO']);

/** Rule 6: a guest embed needs a guest-embeddable resource and a customerId to lock the filter to. */
function guestOrDeny(tenant: PolicyTenant, resource: PolicyResource, rule: RuleName, reasons: string[]): Decision {
  if (!resource.guest || !resource.tenantParam) {
    return deny('guest-resource-required', { status: 403, code: 'guest_embed_not_allowed' }, [
      ...reasons,
      `resource '${resource.key}' is not registered for guest embedding`,
    ]);
  }
  if (!isUsableCustomerId(tenant.customerId)) {
    return deny('guest-customer-id-required', { status: 403, code: 'missing_customer_id' }, [
      ...reasons,
      `tenant '${tenant.slug}' has no customerId to lock the '${resource.tenantParam}' filter to`,
    ]);
  }
  return { mode: 'guest', rule, reasons };
}

/** The decision as the API shows it. */
export function publicDecision(decision: Decision) {
  return { mode: decision.mode, rule: decision.rule, reasons: decision.reasons };
}

/** What a viewer's browser is told of a refusal: the mode and the rule; the reasons (Metabase's setup, other users) stay server-side. */
export function viewerDecision(decision: Decision) {
  return { mode: decision.mode, rule: decision.rule };
}
