# The two set-up commands (see README.md): make demo, make test.
.PHONY: demo test build bench image image-test

demo:
	scripts/demo.sh

test:
	scripts/test.sh

build:
	go build ./...

bench:
	go test -run '^$$' -bench . -benchmem ./media/...

# The container image (Dockerfile) with podman or docker: README "Deploying".
image:
	scripts/image.sh

# Builds the image on local stand-ins for its base images (no registry) and
# runs the demo batch through it against the simulator (slow; not in make test).
image-test:
	scripts/image-test.sh
