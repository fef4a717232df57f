"""Run policy of the asset graph, in one place: how the vendor is shared and how back-fills run.

Dagster fixes an asset's pool and back-fill policy when the asset is declared (both are attributes
of its op, and 1.13 has no public way to set them while assembling the definitions), so they are
declared here once and every asset and job reads them from here; ``aegis_pipelines/definitions.py``
sets the rest of the global policy (executor) and the instance's ``dagster.yaml`` the limits.
"""

from __future__ import annotations

import dagster as dg

# At most one run talks to the market-data vendor at a time: the fetch assets share this pool and the
# jobs that run them carry this tag; both are limited to 1 in dagster.yaml.
VENDOR_POOL = "market_data"
VENDOR_TAG = {"aegis/vendor": VENDOR_POOL}

# A session asset handles a range of sessions in one run (a back-fill of a year is one run).
SESSION_BACKFILL = dg.BackfillPolicy.single_run()

# A slot back-fill (simulated source only: live slots refuse) runs up to one full session per run.
SLOTS_PER_RUN = 26
SLOT_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=SLOTS_PER_RUN)
