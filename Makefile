# The two set-up commands (see README.md): make demo, make test.
.PHONY: demo test build bench

demo:
	scripts/demo.sh

test:
	scripts/test.sh

build:
	go build ./...

bench:
	go test -run '^$$' -bench . -benchmem ./media/...
