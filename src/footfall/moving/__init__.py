"""Moving in and out: imports of Plausible's CSV export and Google Analytics 4 CSV reports into
the event store's `imported_*` tables, and exports of a site's own data in Plausible's layout."""
