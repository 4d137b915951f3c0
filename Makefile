# The two commands of the README. Both first make sure this machine has what playlab
# needs (Docker engine, a local debian:bookworm-slim, Chromium): see .ci/setup-machine.
.PHONY: run test machine

run: machine
	cargo run --release -p playlab -- serve

test: machine
	./.ci/test

machine:
	./.ci/setup-machine
