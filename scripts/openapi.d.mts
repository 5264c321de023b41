// Types of scripts/openapi.mjs, for the tests that import it.

/** clients/typescript/openapi.json */
export declare const OPENAPI_JSON: string;
/** clients/typescript/src/schema.d.ts */
export declare const SCHEMA_D_TS: string;
/** The committed form of the OpenAPI document: two-space JSON and a final newline. */
export declare function serializeDocument(document: unknown): string;
/** The TypeScript declarations of an OpenAPI document, exactly as the committed schema.d.ts holds them. */
export declare function renderSchema(document: unknown): Promise<string>;
/** Boots the built app (dist/) on DATABASE_URL or an embedded Postgres and answers its GET /docs/json. */
export declare function liveOpenApiDocument(env?: Record<string, string | undefined>): Promise<unknown>;
