import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';

/** The JSON Schema of what a zod schema accepts, for the OpenAPI document. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** Documents a request body with the same zod schema that validates it. */
export const ApiBodyFrom = (schema: z.ZodType, description?: string) => ApiBody({ schema: jsonSchemaOf(schema) as never, description });

/** Documents each query parameter of a zod object schema. */
export function ApiQueryFrom(schema: z.ZodObject) {
  const json = jsonSchemaOf(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) =>
      ApiQuery({ name, required: json.required?.includes(name) ?? false, schema: property as never }),
    ),
  );
}
