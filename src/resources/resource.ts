export type ResourceType = 'dashboard' | 'question';

/** A Metabase dashboard or question that may be embedded. */
export interface Resource {
  id: string;
  key: string;
  type: ResourceType;
  /** Positive integer id or 21-character entity id, as text. */
  metabaseId: string;
  /** Slug of the Metabase parameter locked to the tenant's customerId (guest embeds). */
  tenantParam: string | null;
  guest: boolean;
  createdAt: Date;
}

export type NewResource = Omit<Resource, 'id' | 'createdAt'>;
