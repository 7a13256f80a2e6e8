import { describe, expect, it } from "vitest";
import { routeRequest } from "../../src/policy/route";
import { API_ROUTES } from "../../src/policy/url-map";

/** Fill a template's slots with sample values, as a client would send them. */
function sample(template: string): string {
  return template.replace("{name+}", "job/node%20exporter/instance/a").replace("{name}", "node%3Aname").replace("{word}", "sumSeries").replace("{file+}", "static/js/main.0f1e.js");
}

const TENANT = "12:34";

describe("every row of the URL map", () => {
  for (const route of API_ROUTES) {
    const canonical = `/${route.component}/${TENANT}${sample(route.cluster)}`;
    const target = route.component === "insert" ? "insert" : "select";

    it(`${route.cluster}: every spelling routes to it (${route.component}, ${route.requestClass})`, () => {
      for (const spelling of route.single) {
        const path = sample(spelling);
        expect(routeRequest({ deploymentType: "single_node", access: "rw" }, path), path).toEqual({ ok: true, target: "upstream", path, requestClass: route.requestClass });
      }
      for (const spelling of [route.cluster, ...route.clusterAlso]) {
        const path = `/${route.component}/${TENANT}${sample(spelling)}`;
        expect(routeRequest({ deploymentType: "cluster", access: "rw" }, path), path).toEqual({ ok: true, target, path, requestClass: route.requestClass, tenantId: TENANT });
      }
      for (const spelling of [route.cluster, ...route.clusterAlso, ...route.single]) {
        const path = sample(spelling);
        expect(routeRequest({ deploymentType: "cluster", access: "rw", tenantId: TENANT }, path), path).toEqual({
          ok: true,
          target,
          path: canonical,
          requestClass: route.requestClass,
          tenantId: TENANT,
        });
      }
    });
  }

  it("has no two rows with the same spelling", () => {
    const seen = new Map<string, string>();
    for (const route of API_ROUTES) {
      for (const spelling of [...new Set([route.cluster, ...route.clusterAlso])].map((s) => `${route.component}:${s}`).concat([...new Set(route.single)].map((s) => `single:${s}`))) {
        expect(seen.get(spelling), spelling).toBeUndefined();
        seen.set(spelling, route.cluster);
      }
    }
  });

  it("routes Graphite's reserved tag paths to their own rows, not to /graphite/tags/{name}", () => {
    const grant = { deploymentType: "single_node", access: "r" } as const;
    expect(routeRequest(grant, "/graphite/tags/tagSeries")).toMatchObject({ ok: false, code: "insufficient_access" });
    expect(routeRequest(grant, "/graphite/tags/tagMultiSeries")).toMatchObject({ ok: false, code: "insufficient_access" });
    expect(routeRequest(grant, "/graphite/tags/delSeries")).toMatchObject({ ok: false, code: "insufficient_access" });
    // An escaped spelling of a reserved word is refused, so it cannot pass as a tag name.
    expect(routeRequest(grant, "/graphite/tags/del%53eries")).toMatchObject({ ok: false, code: "non_canonical_path" });
  });
});
