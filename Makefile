# Common commands (each is also spelled out in the README).
.PHONY: eod dev test test-fast lint format typecheck bench

eod:            ## the end-of-day job for the latest session on the embedded default
	uv run --frozen aegis eod

dev:            ## the Dagster UI and daemon on the local instance
	DAGSTER_HOME=$(CURDIR) uv run --frozen dagster dev -w workspace.yaml

test:           ## the whole test suite (what CI runs)
	uv run --frozen pytest

test-fast:      ## everything but the webserver/daemon end-to-end test
	uv run --frozen pytest -m "not e2e"

lint:           ## lint, format check and the layering contract
	uv run --frozen ruff check . && uv run --frozen ruff format --check . && uv run --frozen lint-imports

format:
	uv run --frozen ruff format . && uv run --frozen ruff check --fix .

typecheck:      ## mypy on the domain package
	uv run --frozen mypy aegis_core

bench:          ## the benchmarks (figures, not tests)
	uv run --frozen python benchmarks/bench_analytics.py
