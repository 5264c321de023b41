-- CreateTable
CREATE TABLE "usage_daily" (
    "day" DATE NOT NULL,
    "tenant_id" UUID NOT NULL,
    "resource_key" VARCHAR(100) NOT NULL,
    "guest" INTEGER NOT NULL DEFAULT 0,
    "sso" INTEGER NOT NULL DEFAULT 0,
    "denied" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "usage_daily_pkey" PRIMARY KEY ("day","tenant_id","resource_key")
);

-- CreateTable
CREATE TABLE "usage_viewers" (
    "day" DATE NOT NULL,
    "tenant_id" UUID NOT NULL,
    "resource_key" VARCHAR(100) NOT NULL,
    "user_id" TEXT NOT NULL,

    CONSTRAINT "usage_viewers_pkey" PRIMARY KEY ("day","tenant_id","resource_key","user_id")
);

-- CreateTable
CREATE TABLE "usage_batches" (
    "id" UUID NOT NULL,
    "instance" TEXT NOT NULL,
    "embeds" INTEGER NOT NULL,
    "viewers" INTEGER NOT NULL,
    "flushed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_batches_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "usage_batches_flushed_at_idx" ON "usage_batches"("flushed_at");

