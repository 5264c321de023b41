-- seat_ledger_acquire from its canonical file, prisma/sql/seat_ledger_acquire.sql (copied verbatim below):
-- OUT parameters, the allocation's audit entry written in the same statement as the seat, and the
-- user's pending Metabase deactivations cancelled (found by the email index below).
CREATE INDEX "metabase_outbox_email_idx" ON "metabase_outbox"("email");

DROP FUNCTION "seat_ledger_acquire"(uuid, text, text, text, boolean, integer);

-- The canonical text of seat_ledger_acquire: the seat ledger's central invariant. A migration applies
-- this file verbatim (the newest one that defines the function), and test/e2e/migrations.e2e.spec.ts
-- checks that the live function is this text. Change it here, then copy it into a new migration.
--
-- An SSO user's seat in one statement: binds the user's SSO email to the tenant (when asked), reuses
-- the seat the user holds, or takes a new one if the tenant cap and the license budget allow.
--
-- Why one statement: every new seat waits for the one license row, and a row lock is held until the
-- commit is written. As a client-side transaction the row also stayed locked while the service's
-- event loop got round to sending COMMIT (milliseconds under load), and each step was a round trip.
-- Here it is locked only while this function finishes and the commit is written.
--
-- A new seat, its seat event and its audit entry are one transaction: there is never a seat without
-- its history, and nothing of it stays when any part fails. Its commit is asynchronous
-- (synchronous_commit off, for that transaction only), so the lock is released without waiting for
-- the disk and allocations are not serialized on one flush each. The caller must make it durable
-- before it hands out a token: SeatLedger runs a synchronous commit right after (the WAL is flushed
-- in order, so that flush covers this commit). Should Postgres crash in between, the seat is lost
-- but no token was given for it.
--
-- A new seat cancels its user's pending Metabase deactivations (metabase_outbox rows with the seat's
-- email, claimed by a worker or not: 'skipped'). A deactivation queued by an earlier release (a tier
-- downgrade, say) and claimed by a worker waiting on a slow Metabase would otherwise deactivate a
-- user who has just taken a seat again; the worker checks the job's status right before each
-- Metabase call. The email index finds the user's jobs, so this adds little to the time the tenant
-- and license rows stay locked.
--
-- Same lock order as every release: the tenant row, then the license row.
--
-- The outcome is one of:
--   'held'              the user's seat (last_used_at moved to now if older than p_touch_seconds);
--   'allocated'         a new seat, with the license's and the tenant's counters after it;
--   'cap-exhausted', 'budget-exhausted', 'tenant-changed' (no longer an active drill tenant):
--                       no seat, and nothing changed but the binding;
--   'identity-conflict' the email is another tenant's SSO identity: nothing changed;
--   'identity-retry'    the binding was being changed concurrently: nothing changed.
-- The other OUT parameters are null unless the outcome says otherwise.
CREATE OR REPLACE FUNCTION "seat_ledger_acquire"(
  p_tenant uuid, p_tenant_slug text, p_user text, p_email text, p_actor text, p_bind boolean, p_touch_seconds integer,
  OUT outcome text, OUT seat_id uuid, OUT held_since timestamp with time zone, OUT last_used_at timestamp with time zone,
  OUT seats_held integer, OUT tenant_held integer, OUT seat_budget integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_owner uuid;
  v_status text;
  v_tier text;
BEGIN
  -- Metabase matches SSO users by email: one email belongs to one tenant.
  IF p_bind THEN
    INSERT INTO sso_identities AS i (email, tenant_id) VALUES (p_email, p_tenant) ON CONFLICT (email) DO NOTHING;
    IF NOT FOUND THEN
      SELECT i.tenant_id INTO v_owner FROM sso_identities i WHERE i.email = p_email;
      IF v_owner IS NULL OR v_owner <> p_tenant THEN
        outcome := CASE WHEN v_owner IS NULL THEN 'identity-retry' ELSE 'identity-conflict' END;
        RETURN;
      END IF;
    END IF;
  END IF;

  -- The seat the user holds: lastUsedAt moves at most once per p_touch_seconds.
  SELECT s.id, s.held_since, s.last_used_at INTO seat_id, held_since, last_used_at
    FROM seats s WHERE s.tenant_id = p_tenant AND s.user_id = p_user;
  IF FOUND THEN
    IF last_used_at >= now() - make_interval(secs => p_touch_seconds) THEN
      outcome := 'held';
      RETURN;
    END IF;
    UPDATE seats s SET last_used_at = now() WHERE s.id = seat_id RETURNING s.last_used_at INTO last_used_at;
    IF FOUND THEN
      outcome := 'held';
      RETURN;
    END IF;
    -- Released meanwhile: take a new one below.
    seat_id := NULL; held_since := NULL; last_used_at := NULL;
  END IF;

  -- Without a lock: a budget already used up refuses early (the locked UPDATE below decides).
  IF (SELECT l.seats_held >= l.seat_budget FROM license l WHERE l.id = 1) THEN
    outcome := 'budget-exhausted';
    RETURN;
  END IF;

  UPDATE tenants t SET seats_held = t.seats_held + 1
   WHERE t.id = p_tenant AND t.status = 'active' AND t.tier = 'drill' AND (t.seat_cap IS NULL OR t.seats_held < t.seat_cap)
  RETURNING t.seats_held INTO tenant_held;
  IF NOT FOUND THEN
    SELECT t.status::text, t.tier::text INTO v_status, v_tier FROM tenants t WHERE t.id = p_tenant;
    outcome := CASE WHEN v_status = 'active' AND v_tier = 'drill' THEN 'cap-exhausted' ELSE 'tenant-changed' END;
    RETURN;
  END IF;

  INSERT INTO seats AS s (tenant_id, user_id, email) VALUES (p_tenant, p_user, p_email)
  ON CONFLICT (tenant_id, user_id) DO NOTHING
  RETURNING s.id, s.held_since, s.last_used_at INTO seat_id, held_since, last_used_at;
  IF NOT FOUND THEN
    -- A concurrent request took this user's seat (it waited for that commit): it is this user's seat.
    UPDATE tenants t SET seats_held = t.seats_held - 1 WHERE t.id = p_tenant;
    tenant_held := NULL;
    SELECT s.id, s.held_since, s.last_used_at INTO seat_id, held_since, last_used_at
      FROM seats s WHERE s.tenant_id = p_tenant AND s.user_id = p_user;
    outcome := CASE WHEN seat_id IS NULL THEN 'tenant-changed' ELSE 'held' END;
    RETURN;
  END IF;

  UPDATE license l SET seats_held = l.seats_held + 1 WHERE l.id = 1 AND l.seats_held < l.seat_budget
  RETURNING l.seats_held, l.seat_budget INTO seats_held, seat_budget;
  IF NOT FOUND THEN
    -- Undo this statement's own writes, which no other transaction has seen.
    DELETE FROM seats s WHERE s.id = seat_id;
    UPDATE tenants t SET seats_held = t.seats_held - 1 WHERE t.id = p_tenant;
    seat_id := NULL; held_since := NULL; last_used_at := NULL; tenant_held := NULL;
    outcome := 'budget-exhausted';
    RETURN;
  END IF;

  INSERT INTO seat_events (seat_id, tenant_id, user_id, kind, reason, actor, seats_held_after, tenant_held_after, seat_budget)
  VALUES (seat_id, p_tenant, p_user, 'allocated', 'first-embed', p_actor, seats_held, tenant_held, seat_budget);
  INSERT INTO audit_events (type, actor, tenant_slug, data)
  VALUES ('seat.allocated', p_actor, p_tenant_slug,
          jsonb_build_object('seatId', seat_id, 'userId', p_user, 'reason', 'first-embed', 'seatsHeld', seats_held, 'seatBudget', seat_budget));
  -- The user is back on a seat: their queued Metabase deactivations, claimed by a worker or not, are
  -- cancelled with the seat (the worker checks the status again before each Metabase call).
  UPDATE metabase_outbox o SET status = 'skipped', outcome = 'cancelled: the user took a seat again', updated_at = now()
   WHERE o.email = p_email AND o.status = 'pending';
  PERFORM set_config('synchronous_commit', 'off', true);
  outcome := 'allocated';
END;
$$;
