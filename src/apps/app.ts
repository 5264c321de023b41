/** A host app, scoped to some tenants or to all of them; it calls the API with its own keys (role 'app'). */
export interface App {
  id: string;
  name: string;
  /** Scoped to every tenant ("*"). */
  allTenants: boolean;
  createdAt: Date;
}

/** A new app and, unless it is scoped to all tenants, the ids of the tenants it may act for. */
export interface NewApp {
  id: string;
  name: string;
  allTenants: boolean;
  tenantIds: string[];
}
