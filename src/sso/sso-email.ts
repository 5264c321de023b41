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

/** An email domain in the one form it is stored and compared in: NFKC, trimmed, lower case (an IDN stays as given). */
export const normalizeEmailDomain = (domain: string) => domain.normalize('NFKC').trim().toLowerCase();

/** A domain name: labels of anything but white space, @ and dots, joined by dots (at least two labels). */
export const EMAIL_DOMAIN_PATTERN = /^[^\s@.]+(\.[^\s@.]+)+$/u;

/**
 * Whether the email the user gave (not the tenant's alias of it) is in one of the tenant's email
 * domains: exact match after normalizing, so a subdomain is in only when it is listed itself.
 */
export function emailDomainAllowed(email: string, domains: readonly string[]): boolean {
  const normalized = normalizeEmail(email);
  const at = normalized.lastIndexOf('@');
  if (at <= 0 || at === normalized.length - 1) return false;
  const domain = normalized.slice(at + 1);
  return domains.some((allowed) => normalizeEmailDomain(allowed) === domain);
}
