/** Whether SSO is refused to external tenants whose Metabase isolation is not proven (fail closed). */
export interface FailClosedSetting {
  enabled: boolean;
  /** Why it was last changed; for the default (never changed), a sentence saying so. */
  reason: string;
  actor: string | null;
  changedAt: Date | null;
}

/** No row: on. Turning it off is an admin's explicit, audited act. */
export const FAIL_CLOSED_DEFAULT: FailClosedSetting = { enabled: true, reason: 'the default: never turned off', actor: null, changedAt: null };
