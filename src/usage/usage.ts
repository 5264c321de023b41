/** What the policy decided for one embed request, as the usage roll-up counts it. */
export type UsageMode = 'guest' | 'sso' | 'deny';

/** The embeds of one UTC day, tenant and resource, by mode: a usage_daily row. */
export interface UsageCounts {
  /** YYYY-MM-DD (UTC). */
  day: string;
  tenantId: string;
  /** '' for a request without a resource (the SDK's SSO tokens) or with an unknown one. */
  resourceKey: string;
  guest: number;
  sso: number;
  denied: number;
}

/** The embeds of one UTC day, tenant and resource, by mode, and their distinct viewers. */
export interface UsageEntry extends UsageCounts {
  /** The distinct user ids that got a guest or SSO embed (a denial adds none). */
  users: string[];
}

/**
 * One flush of an instance's counts: applied in one transaction that also records its id, so a retry
 * of a batch whose first attempt committed is detected, and nothing is counted twice.
 */
export interface UsageBatch {
  id: string;
  instance: string;
  entries: UsageEntry[];
  /** Embeds counted (guest + sso + denied) and viewers listed, in all. */
  embeds: number;
  viewers: number;
}

/** What applying a batch did: applied now, or found already applied (a retry after a lost commit). */
export type BatchOutcome = 'applied' | 'duplicate';

/** One row of the usage report: a day, tenant and resource. */
export interface UsageReportRow {
  date: string;
  tenant: string;
  resource: string;
  guest: number;
  sso: number;
  denied: number;
  /** Distinct user ids that got a guest or SSO embed. */
  viewers: number;
}

/** A tenant's distinct viewers over a range (a user counted once, whatever the days and resources). */
export interface TenantViewers {
  tenant: string;
  viewers: number;
}
