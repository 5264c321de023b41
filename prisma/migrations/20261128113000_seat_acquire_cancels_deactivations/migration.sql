-- CreateIndex
CREATE INDEX "metabase_outbox_email_idx" ON "metabase_outbox"("email");

-- Hand-written (Prisma does not model functions): an SSO user's seat in one statement. Replaces the
-- function of 20261128100000_seat_ledger_acquire; what changed is the cancellation paragraph below.
--
-- seat_ledger_acquire binds the user's SSO email to the tenant (when asked), reuses the seat the user
-- holds, or takes a new one if the tenant cap and the license budget allow.
--
-- Why one statement: every new seat waits for the one license row, and a row lock is held until the
-- commit is flushed to disk. As a client-side transaction the row also stayed locked while the
-- service's event loop got round to sending COMMIT (milliseconds under load), and each step was a
-- round trip. Here it is locked only while this function finishes and the commit is written.
--
-- The commit of a new seat is asynchronous (synchronous_commit off, for that transaction only), so
-- the lock is released without waiting for the disk and allocations are not serialized on one
-- flush each. The caller must make it durable before it hands out a token: it writes the
-- allocation's audit entry in a second, synchronous transaction, whose flush covers this commit (the
-- WAL is flushed in order). Should Postgres crash in between, the seat is lost but no token was
-- given for it; an allocation that saw it was flushed after it.
--
-- A new seat cancels its user's pending Metabase deactivations (metabase_outbox rows with the seat's
-- email, claimed by a worker or not: 'skipped'), in the same statement. A deactivation queued by an
-- earlier release (a tier downgrade, say) and claimed by a worker waiting on a slow Metabase would
-- otherwise deactivate a user who has just taken a seat again; the worker checks the job's status
-- right before each Metabase call. The email index finds the user's jobs, so this adds little to the
-- time the tenant and license rows stay locked, even with a long queue while Metabase is down.
--
-- Same lock order as every release: the tenant row, then the license row.
--
-- Returns one row, its outcome one of:
--   'held'              the user's seat (last_used_at moved to now if older than p_touch_seconds);
--   'allocated'         a new seat, with the license's and the tenant's counters after it; the
--                       user's pending deactivations are now 'skipped';
--   'cap-exhausted', 'budget-exhausted', 'tenant-changed' (no longer an active drill tenant):
--                       no seat, and nothing changed but the binding;
--   'identity-conflict' the email is another tenant's SSO identity: nothing changed;
--   'identity-retry'    the binding was being changed concurrently: nothing changed.
CREATE OR REPLACE FUNCTION "seat_ledger_acquire"(p_tenant uuid, p_user text, p_email text, p_actor text, p_bind boolean, p_touch_seconds integer)
RETURNS TABLE (outcome text, seat_id uuid, held_since timestamptz, last_used_at timestamptz,
               seats_held integer, tenant_held integer, seat_budget integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_owner uuid;
  v_status text;
  v_tier text;
  v_seat_id uuid;
  v_held_since timestamptz;
  v_last_used_at timestamptz;
  v_tenant_held integer;
  v_held integer;
  v_budget integer;
BEGIN
  -- Metabase matches SSO users by email: one email belongs to one tenant.
  IF p_bind THEN
    INSERT INTO sso_identities AS i (email, tenant_id) VALUES (p_email, p_tenant) ON CONFLICT (email) DO NOTHING;
    IF NOT FOUND THEN
      SELECT i.tenant_id INTO v_owner FROM sso_identities i WHERE i.email = p_email;
      IF v_owner IS NULL OR v_owner <> p_tenant THEN
        RETURN QUERY SELECT CASE WHEN v_owner IS NULL THEN 'identity-retry' ELSE 'identity-conflict' END,
                            NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::integer, NULL::integer, NULL::integer;
        RETURN;
      END IF;
    END IF;
  END IF;

  -- The seat the user holds: lastUsedAt moves at most once per p_touch_seconds.
  SELECT s.id, s.held_since, s.last_used_at INTO v_seat_id, v_held_since, v_last_used_at
    FROM seats s WHERE s.tenant_id = p_tenant AND s.user_id = p_user;
  IF FOUND THEN
    IF v_last_used_at >= now() - make_interval(secs => p_touch_seconds) THEN
      RETURN QUERY SELECT 'held'::text, v_seat_id, v_held_since, v_last_used_at, NULL::integer, NULL::integer, NULL::integer;
      RETURN;
    END IF;
    UPDATE seats s SET last_used_at = now() WHERE s.id = v_seat_id RETURNING s.last_used_at INTO v_last_used_at;
    IF FOUND THEN
      RETURN QUERY SELECT 'held'::text, v_seat_id, v_held_since, v_last_used_at, NULL::integer, NULL::integer, NULL::integer;
      RETURN;
    END IF;
    -- Released meanwhile: take a new one below.
  END IF;

  -- Without a lock: a budget already used up refuses early (the locked UPDATE below decides).
  IF (SELECT l.seats_held >= l.seat_budget FROM license l WHERE l.id = 1) THEN
    RETURN QUERY SELECT 'budget-exhausted'::text, NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::integer, NULL::integer, NULL::integer;
    RETURN;
  END IF;

  UPDATE tenants t SET seats_held = t.seats_held + 1
   WHERE t.id = p_tenant AND t.status = 'active' AND t.tier = 'drill' AND (t.seat_cap IS NULL OR t.seats_held < t.seat_cap)
  RETURNING t.seats_held INTO v_tenant_held;
  IF NOT FOUND THEN
    SELECT t.status::text, t.tier::text INTO v_status, v_tier FROM tenants t WHERE t.id = p_tenant;
    RETURN QUERY SELECT CASE WHEN v_status = 'active' AND v_tier = 'drill' THEN 'cap-exhausted' ELSE 'tenant-changed' END,
                        NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::integer, NULL::integer, NULL::integer;
    RETURN;
  END IF;

  INSERT INTO seats AS s (tenant_id, user_id, email) VALUES (p_tenant, p_user, p_email)
  ON CONFLICT (tenant_id, user_id) DO NOTHING
  RETURNING s.id, s.held_since, s.last_used_at INTO v_seat_id, v_held_since, v_last_used_at;
  IF NOT FOUND THEN
    -- A concurrent request took this user's seat (it waited for that commit): it is this user's seat.
    UPDATE tenants t SET seats_held = t.seats_held - 1 WHERE t.id = p_tenant;
    SELECT s.id, s.held_since, s.last_used_at INTO v_seat_id, v_held_since, v_last_used_at
      FROM seats s WHERE s.tenant_id = p_tenant AND s.user_id = p_user;
    RETURN QUERY SELECT CASE WHEN v_seat_id IS NULL THEN 'tenant-changed' ELSE 'held' END,
                        v_seat_id, v_held_since, v_last_used_at, NULL::integer, NULL::integer, NULL::integer;
    RETURN;
  END IF;

  UPDATE license l SET seats_held = l.seats_held + 1 WHERE l.id = 1 AND l.seats_held < l.seat_budget
  RETURNING l.seats_held, l.seat_budget INTO v_held, v_budget;
  IF NOT FOUND THEN
    -- Undo this statement's own writes, which no other transaction has seen.
    DELETE FROM seats s WHERE s.id = v_seat_id;
    UPDATE tenants t SET seats_held = t.seats_held - 1 WHERE t.id = p_tenant;
    RETURN QUERY SELECT 'budget-exhausted'::text, NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::integer, NULL::integer, NULL::integer;
    RETURN;
  END IF;

  INSERT INTO seat_events (seat_id, tenant_id, user_id, kind, reason, actor, seats_held_after, tenant_held_after, seat_budget)
  VALUES (v_seat_id, p_tenant, p_user, 'allocated', 'first-embed', p_actor, v_held, v_tenant_held, v_budget);
  -- The user is back on a seat: their queued Metabase deactivations, claimed by a worker or not, are
  -- cancelled with the seat (the worker checks the status again before each Metabase call).
  UPDATE metabase_outbox o SET status = 'skipped', outcome = 'cancelled: the user took a seat again', updated_at = now()
   WHERE o.email = p_email AND o.status = 'pending';
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN QUERY SELECT 'allocated'::text, v_seat_id, v_held_since, v_last_used_at, v_held, v_tenant_held, v_budget;
END;
$$;
