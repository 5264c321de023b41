-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "TenantKind" AS ENUM ('internal', 'external');

-- CreateEnum
CREATE TYPE "Tier" AS ENUM ('view', 'drill');

-- CreateEnum
CREATE TYPE "SeatsExhaustedAction" AS ENUM ('guest', 'deny');

-- CreateEnum
CREATE TYPE "TenantStatus" AS ENUM ('active', 'suspended');

-- CreateEnum
CREATE TYPE "ResourceType" AS ENUM ('dashboard', 'question');

-- CreateEnum
CREATE TYPE "KeyRole" AS ENUM ('app', 'admin', 'finance');

-- CreateEnum
CREATE TYPE "SeatEventKind" AS ENUM ('allocated', 'released');

-- CreateTable
CREATE TABLE "tenants" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "slug" VARCHAR(63) NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "TenantKind" NOT NULL,
    "tier" "Tier" NOT NULL,
    "customer_id" TEXT,
    "seat_cap" INTEGER,
    "on_seats_exhausted" "SeatsExhaustedAction" NOT NULL DEFAULT 'guest',
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "groups" JSONB,
    "status" "TenantStatus" NOT NULL DEFAULT 'active',
    "seats_held" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "resources" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "key" VARCHAR(100) NOT NULL,
    "type" "ResourceType" NOT NULL,
    "metabase_id" TEXT NOT NULL,
    "tenant_param" TEXT,
    "guest" BOOLEAN NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "resources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "apps" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "all_tenants" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "apps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "app_tenants" (
    "app_id" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,

    CONSTRAINT "app_tenants_pkey" PRIMARY KEY ("app_id","tenant_id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "role" "KeyRole" NOT NULL,
    "name" TEXT NOT NULL,
    "app_id" TEXT,
    "secret_hash" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "license" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "seat_budget" INTEGER NOT NULL,
    "seats_held" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "license_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "seats" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "held_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "seats_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "seat_events" (
    "id" BIGSERIAL NOT NULL,
    "seat_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "kind" "SeatEventKind" NOT NULL,
    "reason" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "seats_held_after" INTEGER NOT NULL,
    "tenant_held_after" INTEGER NOT NULL,
    "seat_budget" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "seat_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "tenant_slug" TEXT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "tenants_slug_key" ON "tenants"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "resources_key_key" ON "resources"("key");

-- CreateIndex
CREATE INDEX "app_tenants_tenant_id_idx" ON "app_tenants"("tenant_id");

-- CreateIndex
CREATE INDEX "api_keys_app_id_idx" ON "api_keys"("app_id");

-- CreateIndex
CREATE INDEX "seats_last_used_at_idx" ON "seats"("last_used_at");

-- CreateIndex
CREATE UNIQUE INDEX "seats_tenant_id_user_id_key" ON "seats"("tenant_id", "user_id");

-- CreateIndex
CREATE INDEX "seat_events_at_idx" ON "seat_events"("at");

-- CreateIndex
CREATE INDEX "seat_events_tenant_id_at_idx" ON "seat_events"("tenant_id", "at");

-- CreateIndex
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");

-- CreateIndex
CREATE INDEX "audit_events_type_at_idx" ON "audit_events"("type", "at");

-- CreateIndex
CREATE INDEX "audit_events_tenant_slug_at_idx" ON "audit_events"("tenant_slug", "at");

-- AddForeignKey
ALTER TABLE "app_tenants" ADD CONSTRAINT "app_tenants_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "app_tenants" ADD CONSTRAINT "app_tenants_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "seats" ADD CONSTRAINT "seats_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

