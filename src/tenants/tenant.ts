export type TenantKind = 'internal' | 'external';
export type Tier = 'view' | 'drill';
export type SeatsExhaustedAction = 'guest' | 'deny';
export type TenantStatus = 'active' | 'suspended';
/** Extra row-level-security attributes passed to Metabase: {string: scalar}. */
export type TenantAttributes = Record<string, string | number | boolean>;

/** One customer organisation (external) or internal department. */
export interface Tenant {
  id: string;
  slug: string;
  name: string;
  kind: TenantKind;
  tier: Tier;
  /** The value Metabase filters on; required for external tenants. */
  customerId: string | null;
  seatCap: number | null;
  onSeatsExhausted: SeatsExhaustedAction;
  attributes: TenantAttributes;
  /** Metabase group names; null means the default groups for the tenant's kind. */
  groups: string[] | null;
  status: TenantStatus;
  /** null, or how this tenant's SSO emails are made unique to it ("plus-tenant"). */
  ssoEmailAlias: string | null;
  /** The email domains whose users may get an SSO login (lower case, exact match); empty: nobody. */
  emailDomains: string[];
  /** Seats held right now; written only by the seat ledger. */
  seatsHeld: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The fields a new tenant is created with (the database fills in id, seatsHeld and the dates). */
export interface NewTenant {
  slug: string;
  name: string;
  kind: TenantKind;
  tier: Tier;
  customerId: string | null;
  seatCap: number | null;
  onSeatsExhausted: SeatsExhaustedAction;
  attributes: TenantAttributes;
  /** undefined or null: the default groups of the tenant's kind. */
  groups?: string[] | null;
  ssoEmailAlias: string | null;
  emailDomains: string[];
}

/** A change to a tenant: undefined leaves a field as it is; null groups resets them to the kind's default. */
export interface TenantPatch {
  name?: string;
  seatCap?: number | null;
  onSeatsExhausted?: SeatsExhaustedAction;
  attributes?: TenantAttributes;
  groups?: string[] | null;
  status?: TenantStatus;
  ssoEmailAlias?: string | null;
  emailDomains?: string[];
}

/** The console's tenant search: slug or name containing q, optionally one kind and tier. */
export interface TenantSearch {
  q?: string;
  kind?: TenantKind;
  tier?: Tier;
}
