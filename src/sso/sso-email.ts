/** Emails are compared and sent in one form: Unicode NFKC, trimmed, lower case. */
export const normalizeEmail = (email: string) => email.normalize('NFKC').trim().toLowerCase();

/** The email aliasing schemes an admin may set on a tenant (PATCH ssoEmailAlias). */
export const SSO_EMAIL_ALIASES = ['plus-tenant'] as const;

/**
 * The email a tenant's SSO user gets in Metabase. With "plus-tenant", ana@x.example in tenant acme
 * becomes ana+acme@x.example: one Metabase account per (person, tenant), so the same person can be
 * a user of several tenants without one account carrying two tenants' attributes.
 */
export function ssoEmailFor(email: string, tenantSlug: string, alias: string | null): string {
  const normalized = normalizeEmail(email);
  if (alias !== 'plus-tenant') return normalized;
  const at = normalized.lastIndexOf('@');
  return `${normalized.slice(0, at)}+${tenantSlug}${normalized.slice(at)}`;
}
