-- The seat budget's history in a table of its own: the seat-usage report read it from the audit
-- entries' JSON (license.budget_changed: {from, to, force, seatsHeld}), so the audit payload was a
-- contract of the finance report. LicenseService writes a row in the transaction of each change.

-- CreateTable
CREATE TABLE "license_budget_changes" (
    "id" BIGSERIAL NOT NULL,
    "seat_budget" INTEGER NOT NULL,
    "previous_budget" INTEGER,
    "actor" TEXT NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "license_budget_changes_pkey" PRIMARY KEY ("id")
);

-- Backfill, oldest first. The initial budget (SEAT_BUDGET, written into the license row at the first
-- boot): the budget before the first recorded change, or the budget now when none was recorded; dated
-- no later than anything the database recorded (the first boot's own time was not kept). A database
-- without a license row yet gets its initial row at the first boot (LicenseRepository.seed).
INSERT INTO "license_budget_changes" ("seat_budget", "actor", "changed_at")
SELECT COALESCE(
         (SELECT ("data" ->> 'from')::integer FROM "audit_events"
          WHERE "type" = 'license.budget_changed' AND jsonb_typeof("data" -> 'from') = 'number'
          ORDER BY "id" LIMIT 1),
         l."seat_budget"),
       'SEAT_BUDGET',
       LEAST(l."updated_at", (SELECT min("at") FROM "audit_events"), (SELECT min("at") FROM "seat_events"))
FROM "license" l WHERE l."id" = 1;

-- Every budget change the audit log recorded, in the order it recorded them.
INSERT INTO "license_budget_changes" ("seat_budget", "previous_budget", "actor", "changed_at")
SELECT ("data" ->> 'to')::integer,
       CASE WHEN jsonb_typeof("data" -> 'from') = 'number' THEN ("data" ->> 'from')::integer END,
       "actor",
       "at"
FROM "audit_events"
WHERE "type" = 'license.budget_changed' AND jsonb_typeof("data" -> 'to') = 'number'
ORDER BY "id";
