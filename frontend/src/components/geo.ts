// The map's projection, loaded with the map only: world-atlas TopoJSON → SVG paths.

import { geoNaturalEarth1, geoPath } from "d3-geo";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

export function countryPaths(topology: Topology, alpha2: Record<number, string>): { code: string; d: string }[] {
  const countries = feature(topology, topology.objects.countries as GeometryCollection) as unknown as {
    features: { id: string; geometry: unknown }[];
  };
  const projection = geoNaturalEarth1().fitSize([960, 500], countries as never);
  const path = geoPath(projection);
  const out: { code: string; d: string }[] = [];
  for (const f of countries.features) {
    const code = alpha2[Number(f.id)];
    if (!code || code === "AQ") continue;
    const d = path(f as never);
    if (d) out.push({ code, d });
  }
  return out;
}
