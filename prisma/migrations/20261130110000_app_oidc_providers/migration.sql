-- OIDC identity providers of host apps (one per app): their tokens identify the app's viewers on the
-- provider endpoints (/v1/sdk/*). Issuer and audience are unique together: no two apps accept the same token.

-- CreateTable
CREATE TABLE "app_oidc_providers" (
    "app_id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "audience" TEXT NOT NULL,
    "jwks_uri" TEXT,
    "algorithms" TEXT[],
    "clock_tolerance_seconds" INTEGER NOT NULL DEFAULT 30,
    "max_token_age_seconds" INTEGER NOT NULL DEFAULT 3600,
    "claims" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_oidc_providers_pkey" PRIMARY KEY ("app_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "app_oidc_providers_issuer_audience_key" ON "app_oidc_providers"("issuer", "audience");

-- AddForeignKey
ALTER TABLE "app_oidc_providers" ADD CONSTRAINT "app_oidc_providers_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

