// Validates values against any schema of openapi.yaml with Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses),
// so tests can check bodies and examples against the document itself.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { loadSpec } from "../../server/spec.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const SPEC_ID = "openapi";

let ajv: Ajv2020 | undefined;

function compiler(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SPEC_ID, ...loadSpec().document }, SPEC_ID);
  return ajv;
}

export function pointer(path: readonly (string | number)[]): string {
  return "#/" + path.map((part) => String(part).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

/** Errors of `value` against the schema at `schemaPointer` ("#/components/schemas/Webhook"); [] when valid. */
export function schemaErrors(schemaPointer: string, value: unknown): string[] {
  const validate = compiler().getSchema(SPEC_ID + schemaPointer);
  if (!validate) throw new Error(`no schema at ${schemaPointer}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

export function componentErrors(name: string, value: unknown): string[] {
  return schemaErrors(`#/components/schemas/${name}`, value);
}
