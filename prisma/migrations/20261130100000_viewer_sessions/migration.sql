-- Viewer sessions: a host app opens one for one user of one tenant; Metabase's embedding clients call
-- the provider endpoints (/v1/sdk/*) with its cookie, from its host page's origin. Only digests of the exchange
-- code and cookie secret are stored.

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
    "origin" TEXT NOT NULL,
    "key_id" TEXT,
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
CREATE INDEX "viewer_sessions_key_id_idx" ON "viewer_sessions"("key_id");

-- CreateIndex
CREATE INDEX "viewer_sessions_expires_at_idx" ON "viewer_sessions"("expires_at");

-- AddForeignKey
ALTER TABLE "viewer_sessions" ADD CONSTRAINT "viewer_sessions_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "viewer_sessions" ADD CONSTRAINT "viewer_sessions_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- A viewer session ends when its tenant is suspended, and when an admin releases its user's seat:
-- in the same transaction as that change, whichever instance makes it.
CREATE FUNCTION viewer_sessions_end_on_suspension() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE viewer_sessions SET revoked_at = now(), revoked_reason = 'tenant-suspended', exchange_hash = NULL
   WHERE tenant_id = NEW.id AND revoked_at IS NULL;
  RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_end_viewer_sessions AFTER UPDATE OF status ON tenants
  FOR EACH ROW WHEN (OLD.status = 'active' AND NEW.status = 'suspended') EXECUTE FUNCTION viewer_sessions_end_on_suspension();

CREATE FUNCTION viewer_sessions_end_on_seat_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE viewer_sessions SET revoked_at = now(), revoked_reason = 'seat-released', exchange_hash = NULL
   WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id AND revoked_at IS NULL;
  RETURN NULL;
END;
$$;

CREATE TRIGGER seat_events_end_viewer_sessions AFTER INSERT ON seat_events
  FOR EACH ROW WHEN (NEW.kind = 'released' AND NEW.reason = 'admin') EXECUTE FUNCTION viewer_sessions_end_on_seat_release();

CREATE FUNCTION viewer_sessions_end_on_key_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE viewer_sessions SET revoked_at = now(), revoked_reason = 'key-revoked', exchange_hash = NULL
   WHERE key_id = NEW.id AND revoked_at IS NULL;
  RETURN NULL;
END;
$$;

-- A stolen app key that is revoked stops its viewer sessions too, on every instance.
CREATE TRIGGER api_keys_end_viewer_sessions AFTER UPDATE OF revoked_at ON api_keys
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION viewer_sessions_end_on_key_revocation();
