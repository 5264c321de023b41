-- CreateTable
CREATE TABLE "cache_epoch" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "epoch" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "cache_epoch_pkey" PRIMARY KEY ("id")
);


INSERT INTO "cache_epoch" ("id", "epoch") VALUES (1, 0);

-- Hand-written (Prisma does not model triggers): every statement that changes what instances cache
-- moves the epoch, in the writing transaction, so an instance sees the change at its next read of
-- the epoch. Seat counters (tenants.seats_held, written on every allocation) and updated_at are not
-- in the list: they would invalidate every cache on every new seat.
CREATE FUNCTION "cache_epoch_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "cache_epoch" SET "epoch" = "epoch" + 1 WHERE "id" = 1;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "tenants_cache_epoch" AFTER INSERT OR DELETE OR TRUNCATE
  OR UPDATE OF "slug", "name", "kind", "tier", "customer_id", "seat_cap", "on_seats_exhausted", "attributes", "groups", "status", "sso_email_alias"
  ON "tenants" FOR EACH STATEMENT EXECUTE FUNCTION "cache_epoch_bump"();
CREATE TRIGGER "resources_cache_epoch" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON "resources" FOR EACH STATEMENT EXECUTE FUNCTION "cache_epoch_bump"();
CREATE TRIGGER "apps_cache_epoch" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON "apps" FOR EACH STATEMENT EXECUTE FUNCTION "cache_epoch_bump"();
CREATE TRIGGER "app_tenants_cache_epoch" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON "app_tenants" FOR EACH STATEMENT EXECUTE FUNCTION "cache_epoch_bump"();
CREATE TRIGGER "api_keys_cache_epoch" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON "api_keys" FOR EACH STATEMENT EXECUTE FUNCTION "cache_epoch_bump"();
