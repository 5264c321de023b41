-- CreateTable
CREATE TABLE "metabase_user_snapshots" (
    "id" BIGSERIAL NOT NULL,
    "taken_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "active_users" INTEGER NOT NULL,
    "seats_held" INTEGER NOT NULL,

    CONSTRAINT "metabase_user_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "metabase_user_snapshots_taken_at_idx" ON "metabase_user_snapshots"("taken_at");

