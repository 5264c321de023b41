-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "sso_email_alias" TEXT;

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "expires_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "sso_launches" (
    "id_hash" BYTEA NOT NULL,
    "tenant_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "first_name" TEXT,
    "last_name" TEXT,
    "role" TEXT NOT NULL,
    "return_to" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sso_launches_pkey" PRIMARY KEY ("id_hash")
);

-- CreateTable
CREATE TABLE "sso_identities" (
    "email" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sso_identities_pkey" PRIMARY KEY ("email")
);

-- CreateIndex
CREATE INDEX "sso_launches_expires_at_idx" ON "sso_launches"("expires_at");

-- CreateIndex
CREATE INDEX "sso_identities_tenant_id_idx" ON "sso_identities"("tenant_id");

