import { Type, type ForSchemaOptions } from 'avsc';
import type { JsonValue } from './schema-model';

/**
 * The one place where a schema crosses into avsc. avsc's typings describe schemas loosely and
 * miss attributes it accepts (a fixed's namespace, a field's aliases, extra metadata such as
 * `symbolDocs`), so a typed literal cannot be handed over without casts. Our own parser has
 * already validated the schema; avsc receives it as parsed JSON text, which is exactly how it
 * arrives from a schema registry.
 */
export function avroType(schema: JsonValue, options: Partial<ForSchemaOptions> = {}): Type {
  // A copy: avsc stores every named type it parses in `options.registry`, creating it on the
  // options object it is given, so a shared options object would make the second schema with the
  // same record name fail with "duplicate type name".
  return Type.forSchema(JSON.parse(JSON.stringify(schema)), { ...options });
}
