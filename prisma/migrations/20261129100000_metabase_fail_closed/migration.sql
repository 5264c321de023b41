-- Whether an external tenant whose Metabase isolation is not proven is refused SSO embeds (fail
-- closed). One row (id 1); no row means enabled: turning it off is an admin's explicit, audited act.

-- CreateTable
CREATE TABLE "metabase_fail_closed" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "enabled" BOOLEAN NOT NULL,
    "reason" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "metabase_fail_closed_pkey" PRIMARY KEY ("id")
);
