// The dashboard's entry point: read the server's config, start the URL state, render.

import { render } from "preact";
import { useState } from "preact/hooks";
import { configure } from "./api";
import { readConfig, type BootConfig } from "./config";
import { Compare } from "./components/Compare";
import { Details } from "./components/Details";
import { FilterDialog } from "./components/FilterDialog";
import { Graph } from "./components/Graph";
import { Panel } from "./components/Panel";
import { applyTheme, TopBar } from "./components/TopBar";
import { TopStats } from "./components/TopStats";
import { listen } from "./keyboard";
import { REPORTS } from "./reports";
import { navigate, startState, view } from "./state";

function App({ site }: { site: BootConfig }) {
  const [adding, setAdding] = useState(false);
  const details = view.value.details;
  return (
    <main class={site.embed ? "dashboard embedded" : "dashboard"}>
      <TopBar site={site} onAddFilter={() => setAdding(true)} />
      <section class="card overview">
        <TopStats site={site} />
        <Graph site={site} />
      </section>
      <div class="grid">
        {REPORTS.map((report) => (
          <Panel key={report.id} site={site} report={report} />
        ))}
      </div>
      {adding && <FilterDialog site={site} onClose={() => setAdding(false)} />}
      {details && <Details key={details} site={site} id={details} />}
      {!site.embed && <footer class="dash-foot muted">footfall · times in {site.timezone}</footer>}
    </main>
  );
}

const site = readConfig();
configure(site);
applyTheme(site.embed ? site.theme : (localStorage.getItem("footfall:theme") ?? site.theme));
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(localStorage.getItem("footfall:theme") ?? site.theme));
if (site.background) document.documentElement.style.setProperty("--page", site.background === "transparent" ? "transparent" : site.background);
startState(site.domain);
// Saved segments belong to one site: the compare view drops a segment filter from its URL.
if (site.mode === "compare" && view.value.filters.some((f) => f.key === "segment")) navigate((d) => void (d.filters = d.filters.filter((f) => f.key !== "segment")), true);
listen(site);
render(site.mode === "compare" ? <Compare site={site} /> : <App site={site} />, document.getElementById("dashboard")!);
