# The same commands CI runs (.ci/run), so a green `make ci` here means a green CI.

.PHONY: run test fmt lint ci bench bench-postgres bench-micro

run:            ## start the server on file-backed SQLite in ./eventodb-data
	cargo run --release -- serve

test:           ## the whole test suite: unit, conformance, black-box on SQLite, black-box on PostgreSQL
	cargo test --workspace --all-targets
	EVENTODB_TEST_BACKEND=postgres cargo test --test it

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

ci: lint test

bench:          ## the load benchmarks against a release server (benches/run.sh, docs/BENCHMARKS.md)
	benches/run.sh
	benches/postgres.sh

bench-postgres: ## PostgreSQL: the server against Message DB's functions on one throw-away PostgreSQL
	benches/postgres.sh

bench-micro:    ## the criterion micro-benchmarks
	cargo bench --workspace
