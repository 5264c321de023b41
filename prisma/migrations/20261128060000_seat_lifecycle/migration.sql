-- CreateEnum
CREATE TYPE "OutboxStatus" AS ENUM ('pending', 'done', 'skipped', 'failed');

-- CreateTable
CREATE TABLE "metabase_outbox" (
    "id" BIGSERIAL NOT NULL,
    "action" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "seat_id" UUID,
    "reason" TEXT NOT NULL,
    "status" "OutboxStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "outcome" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "metabase_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "metabase_outbox_status_next_attempt_at_idx" ON "metabase_outbox"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "seats_email_idx" ON "seats"("email");


-- Hand-written (Prisma does not model triggers): seat history is append-only. Every allocation and
-- release is an immutable event, and the finance report is computed from them.
CREATE FUNCTION "seat_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'seat_events is append-only: % is not allowed', TG_OP;
END
$$;

CREATE TRIGGER "seat_events_no_update_or_delete" BEFORE UPDATE OR DELETE ON "seat_events"
  FOR EACH ROW EXECUTE FUNCTION "seat_events_append_only"();

CREATE TRIGGER "seat_events_no_truncate" BEFORE TRUNCATE ON "seat_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "seat_events_append_only"();
