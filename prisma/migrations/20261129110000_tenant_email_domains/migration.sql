-- The email domains whose users may get an SSO login for a tenant (exact match, lower case). An
-- empty list lets nobody in (fail closed): new tenants that can get SSO (internal, or drill tier)
-- must be given their domains.

-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "email_domains" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- Backfill: an existing tenant keeps letting in the domains its users already signed in with, read
-- from the emails of its seats and SSO identities (the domain after the last @, lower case; an alias
-- like ana+acme@x.example keeps its domain). A tenant that has neither gets an empty list: an admin
-- sets its domains (PATCH /v1/tenants/{slug} {emailDomains}) before it gets SSO again.
UPDATE "tenants" t
SET "email_domains" = d."domains"
FROM (
  SELECT "tenant_id", array_agg(DISTINCT "domain" ORDER BY "domain") AS "domains"
  FROM (
    SELECT "tenant_id", lower(substring("email" FROM '@([^@]+)$')) AS "domain" FROM "seats"
    UNION
    SELECT "tenant_id", lower(substring("email" FROM '@([^@]+)$')) AS "domain" FROM "sso_identities"
  ) e
  WHERE "domain" IS NOT NULL AND "domain" <> ''
  GROUP BY "tenant_id"
) d
WHERE d."tenant_id" = t."id";
