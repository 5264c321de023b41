import type { JWTPayload } from 'jose';
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { textProblem } from '../common/text.js';
import { SLUG_PATTERN } from '../tenants/tenant.dto.js';
import type { OidcClaims, ViewerRole } from './oidc-provider.js';

/** A claim a verified token cannot give a viewer: the token is refused with this message (never the value). */
export class ClaimProblem extends Error {
  override readonly name = 'ClaimProblem';
}

const MAX_ROLE_VALUES = 100;
const emailSchema = z.email();

/** A string claim under the text rule, or undefined when absent or null. */
function optionalText(payload: JWTPayload, claim: string, field: string, max: number): string | undefined {
  const value = payload[claim];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ClaimProblem(`the "${claim}" claim (${field}) must be a string`);
  const problem = value.length > max ? `must be at most ${max} characters` : textProblem(value);
  if (problem) throw new ClaimProblem(`the "${claim}" claim (${field}) ${problem}`);
  return value;
}

function tenantOf(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (value === undefined || value === null) throw new ClaimProblem(`the token has no "${claim}" claim (tenant)`);
  if (typeof value !== 'string' || !SLUG_PATTERN.test(value)) {
    throw new ClaimProblem(`the "${claim}" claim (tenant) must be a tenant slug: 1-63 lowercase letters, digits and -`);
  }
  return value;
}

/** The user id, exactly as the token gives it (never trimmed or re-encoded: two ids are two users); an integer becomes its text. */
function userIdOf(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  const id = optionalText(payload, claim, 'user id', 200);
  if (id === undefined) throw new ClaimProblem(`the token has no "${claim}" claim (user id)`);
  if (id.trim() === '') throw new ClaimProblem(`the "${claim}" claim (user id) must not be blank`);
  return id;
}

/** NFKC and trimmed, as the embed body's user.email; an unverified email is refused, not used. */
function emailOf(payload: JWTPayload, claim: string): string | undefined {
  const raw = optionalText(payload, claim, 'email', 254);
  if (raw === undefined) return undefined;
  const email = raw.normalize('NFKC').trim();
  if (!emailSchema.safeParse(email).success) throw new ClaimProblem(`the "${claim}" claim (email) must be an email address`);
  // An identity provider that lets users type any address says so; SSO binds Metabase accounts by email.
  // Present, it must say true (some providers send the string "true"); absent, the provider vouches for the email.
  const verified = payload.email_verified;
  if (verified !== undefined && verified !== true && verified !== 'true') {
    throw new ClaimProblem('the email is not verified (email_verified is not true)');
  }
  return email;
}

function nameOf(payload: JWTPayload, claim: string, field: string): string | undefined {
  const name = optionalText(payload, claim, field, 100)?.trim();
  return name ? name : undefined;
}

/** analyst when any value of the role claim maps to analyst, else viewer when any maps to viewer, else the default. */
function roleOf(payload: JWTPayload, mapping: OidcClaims['role']): ViewerRole {
  if (!mapping) return 'viewer';
  const value = payload[mapping.claim];
  if (value === undefined || value === null) return mapping.default;
  const values = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(values) || values.length > MAX_ROLE_VALUES || !values.every((v) => typeof v === 'string')) {
    throw new ClaimProblem(`the "${mapping.claim}" claim (role) must be a string or a list of at most ${MAX_ROLE_VALUES} strings`);
  }
  const roles = values.map((v) => (Object.hasOwn(mapping.values, v) ? mapping.values[v] : undefined));
  if (roles.includes('analyst')) return 'analyst';
  if (roles.includes('viewer')) return 'viewer';
  return mapping.default;
}

/** The viewer a verified token's claims describe, mapped by the app's provider settings. */
export function viewerOfClaims(provider: { appId: string; issuer: string; claims: OidcClaims }, payload: JWTPayload): Viewer {
  const { claims } = provider;
  const tenant = tenantOf(payload, claims.tenant);
  const user: Viewer['user'] = { id: userIdOf(payload, claims.userId), role: roleOf(payload, claims.role) };
  const email = emailOf(payload, claims.email);
  const firstName = nameOf(payload, claims.firstName, 'first name');
  const lastName = nameOf(payload, claims.lastName, 'last name');
  if (email !== undefined) user.email = email;
  if (firstName !== undefined) user.firstName = firstName;
  if (lastName !== undefined) user.lastName = lastName;
  return { appId: provider.appId, tenant, user, via: { kind: 'oidc', issuer: provider.issuer } };
}
