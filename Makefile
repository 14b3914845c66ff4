# The two commands of the README, and the checks run before each commit.
.PHONY: run test test-cluster lint fmt watch

run:
	.ci/serve

test:
	.ci/test

# Only the integration suite on a Redis Cluster started for it (`make test` runs it too).
test-cluster:
	.ci/test-cluster

lint:
	cargo fmt --all -- --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all

# Development: rebuild and reload on every save (debug build, dev mode). Installs cargo-leptos
# once (about 12 minutes); `make run` and `make test` never need it. `--split` cuts the WASM into
# a chunk per tab as `.ci/build` does: the tabs are lazy routes, which load only from a split build.
watch:
	.ci/bootstrap --watch
	cargo leptos watch --split
