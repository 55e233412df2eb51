// The Properties tab before a key is picked: the custom property keys seen in the range,
// only those in the site's allow-list when it has one (the server filters them too).

import { propertyKeys } from "../api";
import type { BootConfig } from "../config";
import { allowedKeys } from "../filters";
import { body } from "../query";
import { navigate, useLoad, view } from "../state";

export function PropertyKeys({ site }: { site: BootConfig }) {
  const request = body(site, view.value, { metrics: ["visitors"] });
  const loaded = useLoad(JSON.stringify(request), (signal) => propertyKeys(request, signal).then((keys) => allowedKeys(site, keys)));
  return (
    <div class="rows keys" aria-busy={loaded.loading}>
      <div class="row row-head">
        <span>Property</span>
      </div>
      {loaded.error && <p class="panel-error" role="alert">{loaded.error}</p>}
      {loaded.data && loaded.data.length === 0 && <p class="panel-empty">No custom properties in this range</p>}
      {!loaded.data && !loaded.error && <div class="panel-loading" aria-label="Loading" />}
      {(loaded.data ?? []).slice(0, 9).map((key) => (
        <div class="row" key={key}>
          <button type="button" class="row-link" onClick={() => navigate((d) => void (d.prop_key = key))}>
            {key}
          </button>
        </div>
      ))}
    </div>
  );
}

