-- Hand-written: OIDC providers are cached by issuer on every instance (src/oidc), like tenants, resources,
-- apps and keys; a write to them moves the cache epoch, so every instance drops its entries within
-- CACHE_TTL_MS (src/cache/caches.service.ts).
CREATE TRIGGER "app_oidc_providers_cache_epoch" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON "app_oidc_providers" FOR EACH STATEMENT EXECUTE FUNCTION "cache_epoch_bump"();
