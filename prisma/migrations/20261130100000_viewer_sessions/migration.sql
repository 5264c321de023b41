-- Viewer sessions: a host app opens one for one user of one tenant; Metabase's embedding clients call
-- the provider endpoints (/v1/sdk/*) with its cookie. Only digests of the exchange code and cookie secret.

-- CreateTable
CREATE TABLE "viewer_sessions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "app_id" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "email" TEXT,
    "first_name" TEXT,
    "last_name" TEXT,
    "role" TEXT NOT NULL,
    "exchange_hash" BYTEA,
    "exchange_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "secret_hash" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "exchanged_at" TIMESTAMPTZ(3),
    "last_seen_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_reason" TEXT,

    CONSTRAINT "viewer_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "viewer_sessions_exchange_hash_key" ON "viewer_sessions"("exchange_hash");

-- CreateIndex
CREATE UNIQUE INDEX "viewer_sessions_secret_hash_key" ON "viewer_sessions"("secret_hash");

-- CreateIndex
CREATE INDEX "viewer_sessions_app_id_tenant_id_user_id_idx" ON "viewer_sessions"("app_id", "tenant_id", "user_id");

-- CreateIndex
CREATE INDEX "viewer_sessions_expires_at_idx" ON "viewer_sessions"("expires_at");

-- AddForeignKey
ALTER TABLE "viewer_sessions" ADD CONSTRAINT "viewer_sessions_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "viewer_sessions" ADD CONSTRAINT "viewer_sessions_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

