-- Webhooks: subscriptions, the events to deliver, and the durable outbox of their deliveries (Standard
-- Webhooks, delivered by src/webhooks/webhook-delivery.worker.ts); alert thresholds for budget.threshold_crossed.

-- CreateEnum
CREATE TYPE "WebhookDeliveryStatus" AS ENUM ('pending', 'delivered', 'failed');

-- CreateTable
CREATE TABLE "webhooks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "url" TEXT NOT NULL,
    "description" TEXT,
    "events" TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "secret" TEXT NOT NULL,
    "previous_secret" TEXT,
    "previous_secret_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "webhook_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "status" "WebhookDeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_status" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_thresholds" (
    "percent" INTEGER NOT NULL,

    CONSTRAINT "alert_thresholds_pkey" PRIMARY KEY ("percent")
);

-- CreateIndex
CREATE INDEX "webhook_events_at_idx" ON "webhook_events"("at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_webhook_id_id_idx" ON "webhook_deliveries"("webhook_id", "id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_event_id_idx" ON "webhook_deliveries"("event_id");

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "webhook_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;



-- The default thresholds; each boot rewrites them from ALERT_THRESHOLDS_PERCENT (src/webhooks/alert-thresholds.service.ts).
INSERT INTO "alert_thresholds" ("percent") VALUES (80), (90), (100);

-- Hand-written (Prisma does not model functions or triggers). Events are queued by triggers in the
-- transaction of the change itself, whichever instance or code path makes it: a seat event (the seat
-- ledger's function and its releases), a tier change's audit entry, a change of the budget or of a cap.
-- Nothing is queued unless an enabled webhook subscribes to the type, so with no webhook the cost on
-- the seat ledger is one look at the (small) webhooks table per seat event.

-- Queues one event for every enabled webhook subscribed to its type.
CREATE FUNCTION webhook_enqueue(p_type text, p_data jsonb, p_at timestamp with time zone) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_event uuid;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.enabled AND p_type = ANY (w.events)) THEN
    RETURN;
  END IF;
  INSERT INTO webhook_events (type, data, at) VALUES (p_type, p_data, p_at) RETURNING id INTO v_event;
  INSERT INTO webhook_deliveries (webhook_id, event_id)
  SELECT w.id, v_event FROM webhooks w WHERE w.enabled AND p_type = ANY (w.events);
END;
$$;

-- Whether usage crossed p_percent upwards: below it before (held/limit), at or above it after. A limit
-- that is null (no cap) or 0 has no thresholds. Each change of a count or a limit is one such step, and
-- the steps of one license (its row lock) or one tenant (its row lock) are serialized: so a threshold
-- fires once per crossing, whatever the concurrency, and again only after usage fell below it.
CREATE FUNCTION webhook_threshold_crossed(p_held_before integer, p_limit_before integer, p_held_after integer, p_limit_after integer, p_percent integer)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(p_limit_after > 0 AND p_held_after::bigint * 100 >= p_percent::bigint * p_limit_after, false)
     AND NOT coalesce(p_limit_before > 0 AND p_held_before::bigint * 100 >= p_percent::bigint * p_limit_before, false)
$$;

-- budget.threshold_crossed for each threshold crossed by one step of the license's or a tenant's usage.
CREATE FUNCTION webhook_enqueue_thresholds(p_scope text, p_tenant text, p_held_before integer, p_limit_before integer,
                                           p_held_after integer, p_limit_after integer, p_cause text, p_at timestamp with time zone)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_percent integer;
BEGIN
  FOR v_percent IN SELECT a.percent FROM alert_thresholds a ORDER BY a.percent LOOP
    IF webhook_threshold_crossed(p_held_before, p_limit_before, p_held_after, p_limit_after, v_percent) THEN
      PERFORM webhook_enqueue('budget.threshold_crossed',
        jsonb_build_object('scope', p_scope, 'tenant', p_tenant, 'thresholdPercent', v_percent, 'seatsHeld', p_held_after,
                           'limit', p_limit_after, 'cause', p_cause),
        p_at);
    END IF;
  END LOOP;
END;
$$;

-- seat.allocated / seat.released, and an allocation's threshold crossings (one seat more than before,
-- against the budget and the tenant's cap as they are under the rows this transaction holds locked).
CREATE FUNCTION webhook_events_on_seat_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_slug text;
  v_cap integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.enabled) THEN
    RETURN NULL;
  END IF;
  SELECT t.slug, t.seat_cap INTO v_slug, v_cap FROM tenants t WHERE t.id = NEW.tenant_id;
  PERFORM webhook_enqueue('seat.' || NEW.kind::text,
    jsonb_build_object('seatId', NEW.seat_id, 'tenant', v_slug, 'userId', NEW.user_id, 'reason', NEW.reason, 'actor', NEW.actor,
                       'seatsHeld', NEW.seats_held_after, 'seatBudget', NEW.seat_budget,
                       'tenantSeatsHeld', NEW.tenant_held_after, 'tenantSeatCap', v_cap),
    NEW.at);
  IF NEW.kind = 'allocated' THEN
    PERFORM webhook_enqueue_thresholds('license', NULL, NEW.seats_held_after - 1, NEW.seat_budget, NEW.seats_held_after, NEW.seat_budget, 'seat.allocated', NEW.at);
    PERFORM webhook_enqueue_thresholds('tenant', v_slug, NEW.tenant_held_after - 1, v_cap, NEW.tenant_held_after, v_cap, 'seat.allocated', NEW.at);
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER seat_events_webhooks AFTER INSERT ON seat_events FOR EACH ROW EXECUTE FUNCTION webhook_events_on_seat_event();

-- tenant.tier_changed, from the audit entry TenantsService writes with the change (a real change only).
CREATE FUNCTION webhook_events_on_tier_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM webhook_enqueue('tenant.tier_changed',
    jsonb_build_object('tenant', NEW.tenant_slug, 'from', NEW.data -> 'from', 'to', NEW.data -> 'to', 'reason', NEW.data -> 'reason',
                       'releasedSeats', NEW.data -> 'releasedSeats', 'actor', NEW.actor),
    NEW.at);
  RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_webhook_tier_changed AFTER INSERT ON audit_events FOR EACH ROW WHEN (NEW.type = 'tenant.tier_changed' AND (NEW.data ->> 'from') IS DISTINCT FROM (NEW.data ->> 'to')) EXECUTE FUNCTION webhook_events_on_tier_change();

-- A lower budget or cap can cross a threshold with no new seat (PUT /v1/license, PATCH /v1/tenants/{slug}).
-- UPDATE OF names the limit only: the seat ledger's counter updates never fire these.
CREATE FUNCTION webhook_events_on_budget_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM webhook_enqueue_thresholds('license', NULL, OLD.seats_held, OLD.seat_budget, NEW.seats_held, NEW.seat_budget, 'license.budget_changed', now());
  RETURN NULL;
END;
$$;

CREATE TRIGGER license_webhook_thresholds AFTER UPDATE OF seat_budget ON license FOR EACH ROW WHEN (OLD.seat_budget IS DISTINCT FROM NEW.seat_budget) EXECUTE FUNCTION webhook_events_on_budget_change();

CREATE FUNCTION webhook_events_on_seat_cap_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM webhook_enqueue_thresholds('tenant', NEW.slug, OLD.seats_held, OLD.seat_cap, NEW.seats_held, NEW.seat_cap, 'tenant.seat_cap_changed', now());
  RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_webhook_thresholds AFTER UPDATE OF seat_cap ON tenants FOR EACH ROW WHEN (OLD.seat_cap IS DISTINCT FROM NEW.seat_cap) EXECUTE FUNCTION webhook_events_on_seat_cap_change();
