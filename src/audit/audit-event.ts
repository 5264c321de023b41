/** What a write records in the audit trail. */
export interface AuditEntry {
  type: string;
  actor: string;
  tenantSlug?: string | null;
  data?: Record<string, unknown>;
}

/** An entry of the audit trail as stored. */
export interface AuditEvent {
  id: bigint;
  type: string;
  actor: string;
  tenantSlug: string | null;
  data: unknown;
  at: Date;
}

export interface AuditFilter {
  type?: string;
  tenant?: string;
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}
