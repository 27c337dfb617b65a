import { z } from 'zod';
import type { Method, MethodNeeds } from './method.js';

/** One parameter of a method, as forms, CLI options and docs show it. */
export interface ParamDescription {
  name: string;
  kind: 'number' | 'integer' | 'boolean' | 'numbers' | 'choice';
  description: string;
  default?: number | boolean | string;
  /** a choice's allowed values */
  choices?: string[];
  minimum?: number;
  maximum?: number;
  /** the bound itself is not allowed (density > 0, drop < 1) */
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  searchable: boolean;
}

export interface MethodDescription {
  name: string;
  kind: Method['kind'];
  title: string;
  summary: string;
  reference: string;
  needs: MethodNeeds;
  params: ParamDescription[];
}

interface JsonSchemaField {
  type?: string;
  enum?: string[];
  description?: string;
  default?: number | boolean | string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** The method as plain data (from its zod schema's JSON Schema): what the CLI, the forms and the docs list. */
export function describeMethod(method: Method): MethodDescription {
  const schema = z.toJSONSchema(method.params, { io: 'input' }) as {
    properties?: Record<string, JsonSchemaField>;
  };
  const params = Object.entries(schema.properties ?? {}).map(([name, field]): ParamDescription => {
    const kind = field.enum
      ? 'choice'
      : field.type === 'array'
        ? 'numbers'
        : field.type === 'boolean'
          ? 'boolean'
          : field.type === 'integer'
            ? 'integer'
            : 'number';
    // .int() adds ±MAX_SAFE_INTEGER bounds: not a range a user chose
    const bound = (v: number | undefined) =>
      v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
    const low = bound(field.exclusiveMinimum ?? field.minimum);
    const high = bound(field.exclusiveMaximum ?? field.maximum);
    return {
      name,
      kind,
      description: field.description ?? '',
      ...(field.enum ? { choices: [...field.enum] } : {}),
      ...(field.default !== undefined ? { default: field.default } : {}),
      ...(low !== undefined ? { minimum: low } : {}),
      ...(high !== undefined ? { maximum: high } : {}),
      ...(field.exclusiveMinimum !== undefined ? { exclusiveMinimum: true } : {}),
      ...(field.exclusiveMaximum !== undefined ? { exclusiveMaximum: true } : {}),
      searchable: (method.searchable as readonly string[]).includes(name),
    };
  });
  return {
    name: method.name,
    kind: method.kind,
    title: method.title,
    summary: method.summary,
    reference: method.reference,
    needs: method.needs,
    params,
  };
}
