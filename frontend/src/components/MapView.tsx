// The world map, coloured by visitors; a click on a country filters by it. d3-geo and
// topojson-client load with the map (a chunk of their own), the TopoJSON from world-atlas.

import { useEffect, useState } from "preact/hooks";
import type { V2Row } from "../api";
import type { BootConfig } from "../config";
import { ALPHA2 } from "../countries";
import { countryName, withFilter } from "../filters";
import { compact } from "../format";
import { navigate } from "../state";

interface Shape {
  code: string;
  d: string;
}

let shapes: Promise<Shape[]> | null = null;

function loadShapes(): Promise<Shape[]> {
  shapes ??= Promise.all([
    import("./geo"),
    fetch(new URL("countries-110m.json", import.meta.url)).then((r) => r.json()),
  ]).then(([geo, topology]) => geo.countryPaths(topology, ALPHA2));
  return shapes;
}

export function MapView({ rows }: { site: BootConfig; rows: V2Row[] | null }) {
  const [paths, setPaths] = useState<Shape[] | null>(null);
  const [hover, setHover] = useState<{ code: string; x: number; y: number } | null>(null);
  useEffect(() => {
    loadShapes().then(setPaths, () => setPaths([]));
  }, []);
  const visitors = new Map<string, number>();
  for (const row of rows ?? []) visitors.set(String(row.dimensions[0]), Number(row.metrics[0]) || 0);
  const top = Math.max(1, ...visitors.values());
  const pick = (code: string) =>
    navigate((draft) => {
      draft.filters = withFilter(draft.filters, { op: "is", key: "country", values: [code] });
    });
  return (
    <div class="map" aria-busy={rows === null}>
      <svg viewBox="0 0 960 500" role="img" aria-label="Visitors by country">
        {(paths ?? []).map((shape) => {
          const n = visitors.get(shape.code) ?? 0;
          const level = n ? 0.15 + 0.85 * Math.sqrt(n / top) : 0;
          return (
            <path
              key={shape.code + shape.d.length}
              d={shape.d}
              class={n ? "country has-visitors" : "country"}
              data-code={shape.code}
              style={n ? { fillOpacity: level } : undefined}
              onClick={n ? () => pick(shape.code) : undefined}
              onMouseMove={(e) => setHover({ code: shape.code, x: e.offsetX, y: e.offsetY })}
              onMouseLeave={() => setHover(null)}
            >
              <title>{`${countryName(shape.code)}: ${compact(n)} visitors`}</title>
            </path>
          );
        })}
      </svg>
      {hover && (
        <div class="tooltip" style={{ left: hover.x + 12, top: hover.y + 12 }}>
          <strong>{countryName(hover.code)}</strong> {compact(visitors.get(hover.code) ?? 0)} visitors
        </div>
      )}
    </div>
  );
}
