import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, inject, it } from "vitest";

// The management API's OpenAPI document, fetched from the running Worker and checked by a real
// validator: the OpenAPI 3.0 JSON schema plus swagger-parser's semantic checks ($refs resolve,
// path parameters declared, operation ids unique, …).

const url = inject("workerUrl");

describe("/admin/openapi.json", () => {
  it("is a valid OpenAPI 3.0 document", async () => {
    const res = await fetch(`${url}/admin/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    const validated = await SwaggerParser.validate(structuredClone(doc) as never);
    expect(Object.keys(validated.paths ?? {})).toEqual(Object.keys(doc.paths));
  });

  it("dereferences to schemas whose required fields the answers carry", async () => {
    const doc = await (await fetch(`${url}/admin/openapi.json`)).json();
    const api = (await SwaggerParser.dereference(doc as never)) as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { items?: { required?: string[] } } }> }> }>>;
    };
    const tokenList = api.paths["/api/v1/deployments/{deploymentId}/access_tokens"]!.get!.responses["200"]!.content!["application/json"]!.schema;
    expect(tokenList.items?.required?.sort()).toEqual(["created_at", "created_by", "description", "id", "type", "value"]);
  });
});
