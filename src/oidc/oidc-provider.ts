/** The JWS algorithms an OIDC provider may be configured with: asymmetric only (no `none`, no HMAC). */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

export type ViewerRole = 'viewer' | 'analyst';

/** Which claims of a token give the viewer's tenant, id, email, names and role (top-level claim names). */
export interface OidcClaims {
  /** The tenant's slug. Required in every token. */
  tenant: string;
  /** The user's id. Required in every token. */
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  /**
   * The role, from a claim holding a string or a list of strings: `analyst` when any of its values maps
   * to analyst, else `viewer` when any maps to viewer, else `default`. Without it, every viewer is a viewer.
   */
  role?: { claim: string; values: Record<string, ViewerRole>; default: ViewerRole };
}

/** A host app's OIDC identity provider: its tokens identify the app's viewers (one provider per app). */
export interface OidcProvider {
  appId: string;
  /** Compared exactly with the token's `iss`. */
  issuer: string;
  /** The token's `aud` must contain it. */
  audience: string;
  /** null: discovered from `{issuer}/.well-known/openid-configuration`. */
  jwksUri: string | null;
  algorithms: OidcAlgorithm[];
  clockToleranceSeconds: number;
  /** The most seconds since the token's `iat`. */
  maxTokenAgeSeconds: number;
  claims: OidcClaims;
  createdAt: Date;
  updatedAt: Date;
}

/** What an admin sets (PUT /v1/apps/{id}/oidc). */
export type OidcProviderSettings = Omit<OidcProvider, 'appId' | 'createdAt' | 'updatedAt'>;
