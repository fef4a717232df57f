"""Jobs: which assets run together."""

from __future__ import annotations

import dagster as dg

from aegis_assets.ldas.derived import DERIVED_ASSETS
from aegis_assets.ldas.eod import EOD_FETCH_ASSETS

# Runs of jobs that talk to the market-data vendor carry this tag; the instance limits them to one
# at a time (dagster.yaml: concurrency.runs.tag_concurrency_limits).
VENDOR_TAG = {"aegis/vendor": "market_data"}

ldas_eod_job = dg.define_asset_job(
    "ldas_eod_job",
    selection=dg.AssetSelection.assets(*EOD_FETCH_ASSETS, *DERIVED_ASSETS),
    description="The end-of-day archive of one NYSE session: VIX, stock bars, option chains at the close, "
    "then gamma exposure, ATM IV and IV rank.",
    tags=VENDOR_TAG,
)
