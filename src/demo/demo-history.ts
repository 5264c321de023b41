/**
 * The demo's past, planned as plain data (no database, no clock: the caller passes "today"): weeks of
 * seat allocations and releases for the drill-tier tenants, as the seat ledger would have written
 * them, and each day's embeds for every tenant. Deterministic for a given seed, so every fresh demo
 * tells the same story: seats grow towards the budget, with churn, quieter weekends and idle seats
 * reclaimed.
 */

import { DAY_MS, isoDay } from '../common/days.js';

/** A tenant whose users take seats (drill tier or internal): how many seats it holds over the weeks. */
export interface DemoSeatTenant {
  slug: string;
  emailDomain: string;
  seatCap: number | null;
  seatsAtStart: number;
  seatsAtEnd: number;
}

/** A view-tier tenant: guest embeds only; how many distinct viewers a weekday brings. */
export interface DemoGuestTenant {
  slug: string;
  emailDomain: string;
  viewersAtStart: number;
  viewersAtEnd: number;
}

export interface DemoUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
}

/** One seat event, with the counters right after it, as seat_events keeps them. */
export interface PlannedSeatEvent {
  seatId: string;
  tenant: string;
  userId: string;
  kind: 'allocated' | 'released';
  reason: string;
  at: Date;
  seatsHeldAfter: number;
  tenantHeldAfter: number;
  seatBudget: number;
}

/** One UTC day of one tenant's embeds of one resource, as the usage roll-up keeps them. */
export interface PlannedDailyEmbeds {
  /** YYYY-MM-DD (UTC). */
  day: string;
  tenant: string;
  resource: string;
  guest: number;
  sso: number;
  denied: number;
  /** The distinct users who got an embed (guest or SSO). */
  viewerIds: string[];
}

export interface DemoHistory {
  seatEvents: PlannedSeatEvent[];
  /** Who holds a seat when the history ends: the live ledger gives them their seats today. */
  holders: (DemoUser & { tenant: string })[];
  embeds: PlannedDailyEmbeds[];
}

export interface DemoHistoryInput {
  /** Midnight UTC of today: the history covers the `days` days before it. */
  today: Date;
  days: number;
  budget: number;
  seatTenants: DemoSeatTenant[];
  guestTenants: DemoGuestTenant[];
  /** The resources embedded; the first is the most viewed. */
  resources: string[];
  /** Seat ids (the caller's randomUUID): the only randomness not drawn from the seed. */
  newSeatId: () => string;
  seed?: number;
}

/** Why the history's last seats are released at its end: the live ledger takes them over today. */
const HANDOVER_REASON = 'demo-handover';

const FIRST_NAMES = ['Amara', 'Bruno', 'Chen', 'Dalia', 'Emil', 'Farah', 'Goran', 'Hiro', 'Ines', 'Jonas', 'Kiri', 'Lucia', 'Mateo', 'Noor', 'Oskar'];
const LAST_NAMES = ['Alvarez', 'Brandt', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Gupta', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Lindqvist'];

/** mulberry32: a small seeded generator, so the story is the same on every fresh demo. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The n-th user of a tenant (stable: the same n is the same person). */
function demoUser(tenant: { slug: string; emailDomain: string }, n: number): DemoUser {
  const firstName = FIRST_NAMES[n % FIRST_NAMES.length];
  const lastName = LAST_NAMES[Math.floor(n / FIRST_NAMES.length) % LAST_NAMES.length];
  return {
    id: `${tenant.slug}-${String(n + 1).padStart(3, '0')}`,
    email: `${firstName}.${lastName}${n >= FIRST_NAMES.length * LAST_NAMES.length ? n : ''}@${tenant.emailDomain}`.toLowerCase(),
    firstName,
    lastName,
  };
}

const lerp = (from: number, to: number, t: number) => from + (to - from) * t;

interface Action {
  at: Date;
  tenant: DemoSeatTenant;
  kind: 'allocate' | 'release';
  reason: string;
}

export function planDemoHistory(input: DemoHistoryInput): DemoHistory {
  const random = seededRandom(input.seed ?? 14);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const at = (dayStart: number, fromHour: number, toHour: number) => new Date(dayStart + between(fromHour * 60, toHour * 60 - 1) * 60_000 + between(0, 59_999));

  const held = new Map<string, DemoUser[]>(input.seatTenants.map((t) => [t.slug, []]));
  const nextUser = new Map<string, number>(input.seatTenants.map((t) => [t.slug, 0]));
  const seatOf = new Map<string, string>();
  let licenseHeld = 0;
  const seatEvents: PlannedSeatEvent[] = [];
  const embeds: PlannedDailyEmbeds[] = [];

  /** `n` distinct items of `items`, at random. */
  const sample = <T>(items: readonly T[], n: number): T[] => {
    const copy = [...items];
    for (let i = 0; i < Math.min(n, copy.length); i++) {
      const j = i + Math.floor(random() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, Math.min(n, copy.length));
  };
  /** Each viewer opens one to four embeds, mostly of the first resource; denials add no viewer. */
  const addEmbeds = (day: string, tenant: string, ssoViewers: DemoUser[], guestViewers: DemoUser[], denied: number) => {
    const rows = new Map(input.resources.map((resource) => [resource, { day, tenant, resource, guest: 0, sso: 0, denied: 0, viewerIds: [] as string[] }]));
    const pick = () => rows.get(random() < 0.7 || input.resources.length === 1 ? input.resources[0] : input.resources[between(1, input.resources.length - 1)])!;
    for (const [viewers, mode] of [
      [ssoViewers, 'sso'],
      [guestViewers, 'guest'],
    ] as const) {
      for (const viewer of viewers) {
        const row = pick();
        row[mode] += between(1, 4);
        if (!row.viewerIds.includes(viewer.id)) row.viewerIds.push(viewer.id);
      }
    }
    for (let i = 0; i < denied; i++) pick().denied++;
    embeds.push(...[...rows.values()].filter((row) => row.guest + row.sso + row.denied > 0));
  };

  const apply = (action: Action) => {
    const users = held.get(action.tenant.slug)!;
    if (action.kind === 'allocate') {
      if (licenseHeld >= input.budget || (action.tenant.seatCap !== null && users.length >= action.tenant.seatCap)) return;
      const n = nextUser.get(action.tenant.slug)!;
      nextUser.set(action.tenant.slug, n + 1);
      const user = demoUser(action.tenant, n);
      const seatId = input.newSeatId();
      seatOf.set(user.id, seatId);
      users.push(user);
      licenseHeld++;
      seatEvents.push(event(seatId, action, user, 'allocated', users.length));
    } else {
      if (users.length === 0) return;
      const [user] = users.splice(between(0, users.length - 1), 1);
      licenseHeld--;
      seatEvents.push(event(seatOf.get(user.id)!, action, user, 'released', users.length));
    }
  };
  const event = (seatId: string, action: Action, user: DemoUser, kind: 'allocated' | 'released', tenantHeldAfter: number): PlannedSeatEvent => ({
    seatId,
    tenant: action.tenant.slug,
    userId: user.id,
    kind,
    reason: action.reason,
    at: action.at,
    seatsHeldAfter: licenseHeld,
    tenantHeldAfter,
    seatBudget: input.budget,
  });

  for (let d = 0; d < input.days; d++) {
    const dayStart = input.today.getTime() - (input.days - d) * DAY_MS;
    const weekday = ![0, 6].includes(new Date(dayStart).getUTCDay());
    const progress = input.days > 1 ? d / (input.days - 1) : 1;
    const actions: Action[] = [];
    for (const tenant of input.seatTenants) {
      const holding = held.get(tenant.slug)!.length;
      const target = Math.round(lerp(tenant.seatsAtStart, tenant.seatsAtEnd, progress));
      // Churn: now and then a seat goes idle (reclaimed at night) or an admin releases it.
      if (holding > 1 && random() < 0.22) actions.push({ at: at(dayStart, 2, 3), tenant, kind: 'release', reason: 'idle' });
      if (holding > target + 1 || (holding > 1 && random() < 0.08)) actions.push({ at: at(dayStart, 9, 18), tenant, kind: 'release', reason: 'admin' });
      // New users arrive on working days (the first day opens with the starting seats).
      const wanted = d === 0 ? target : weekday ? Math.max(0, target - holding + (random() < 0.3 ? 1 : 0)) : 0;
      for (let i = 0; i < wanted; i++) actions.push({ at: at(dayStart, 8, 19), tenant, kind: 'allocate', reason: 'first-embed' });
    }
    actions.sort((a, b) => a.at.getTime() - b.at.getTime());
    for (const action of actions) apply(action);

    // The day's embeds: seat holders open SSO embeds; past a full cap, users get guest embeds instead.
    const day = isoDay(new Date(dayStart));
    const activity = weekday ? 1 : 0.25;
    for (const tenant of input.seatTenants) {
      const users = held.get(tenant.slug)!;
      const active = sample(users, Math.round(users.length * activity * (0.6 + random() * 0.35)));
      const atCap = tenant.seatCap !== null && users.length >= tenant.seatCap;
      const guests = atCap && weekday ? Array.from({ length: between(1, 3) }, (_, i) => demoUser(tenant, 900 + i)) : [];
      addEmbeds(day, tenant.slug, active, guests, between(0, 1));
    }
    for (const tenant of input.guestTenants) {
      const pool = Array.from({ length: Math.round(lerp(tenant.viewersAtStart, tenant.viewersAtEnd, progress) * 1.3) }, (_, i) => demoUser(tenant, i));
      const count = Math.round(lerp(tenant.viewersAtStart, tenant.viewersAtEnd, progress) * activity * (0.85 + random() * 0.3));
      addEmbeds(day, tenant.slug, [], sample(pool, count), between(0, 2));
    }
  }

  // The history ends at midnight: its seats are handed to the live ledger, which takes them today
  // (released a moment before midnight, so no day counts a seat twice).
  const holders = input.seatTenants.flatMap((tenant) => held.get(tenant.slug)!.map((user) => ({ ...user, tenant: tenant.slug })));
  const handover = new Date(input.today.getTime() - 1);
  for (const tenant of input.seatTenants) {
    while (held.get(tenant.slug)!.length > 0) apply({ at: handover, tenant, kind: 'release', reason: HANDOVER_REASON });
  }
  return { seatEvents, holders, embeds };
}
