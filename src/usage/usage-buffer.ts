import type { UsageCounts, UsageEntry, UsageMode } from './usage.js';

interface Entry extends UsageCounts {
  viewers: Set<string>;
}

/** What a buffer held when it was drained. */
export interface DrainedUsage {
  entries: UsageEntry[];
  /** Embeds counted (guest + sso + denied). */
  embeds: number;
  /** Viewers listed (distinct per day, tenant and resource). */
  viewers: number;
  /** Viewers not kept because the buffer was full (the database could not be written for long). */
  droppedViewers: number;
}

/**
 * One instance's usage since its last flush, in memory: embeds by (day, tenant, resource) and mode, and
 * the distinct user ids of guest and SSO embeds. Recording is a map lookup, an increment and a set add.
 * Denials add no viewer: the viewers are the people who saw an embed.
 *
 * Memory is bounded: past `limit` viewers, `record` says so (the owner flushes early); past four times
 * that (flushes failing for long), new viewers are dropped and counted, while embeds are still counted.
 */
export class UsageBuffer {
  private entries = new Map<string, Entry>();
  private viewerCount = 0;
  private embedCount = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {}

  /** Counts one embed; true when the buffer holds `limit` viewers or more (time to flush). */
  record(day: string, tenantId: string, resourceKey: string, mode: UsageMode, userId: string): boolean {
    // day (10 characters) and tenantId (a 36-character uuid) have fixed lengths: no separator needed.
    const key = day + tenantId + resourceKey;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { day, tenantId, resourceKey, guest: 0, sso: 0, denied: 0, viewers: new Set() };
      this.entries.set(key, entry);
    }
    this.embedCount++;
    if (mode === 'deny') {
      entry.denied++;
      return false;
    }
    if (mode === 'sso') entry.sso++;
    else entry.guest++;
    if (!entry.viewers.has(userId)) {
      if (this.viewerCount >= 4 * this.limit) {
        this.dropped++;
      } else {
        entry.viewers.add(userId);
        this.viewerCount++;
      }
    }
    return this.viewerCount >= this.limit;
  }

  /** Embeds and viewers held. */
  get size(): { embeds: number; viewers: number } {
    return { embeds: this.embedCount, viewers: this.viewerCount };
  }

  /** Hands over everything held and starts empty; null when empty. */
  drain(): DrainedUsage | null {
    if (this.embedCount === 0) return null;
    const entries: UsageEntry[] = [];
    for (const { day, tenantId, resourceKey, guest, sso, denied, viewers } of this.entries.values()) {
      entries.push({ day, tenantId, resourceKey, guest, sso, denied, users: [...viewers] });
    }
    const drained: DrainedUsage = { entries, embeds: this.embedCount, viewers: this.viewerCount, droppedViewers: this.dropped };
    this.entries = new Map();
    this.viewerCount = 0;
    this.embedCount = 0;
    this.dropped = 0;
    return drained;
  }
}
