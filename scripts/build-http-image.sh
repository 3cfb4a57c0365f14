#!/usr/bin/env bash
# Builds the docker image actorswarm/http:latest (override with $IMAGE) of the
# demo web server cmd/swarm-http, without a registry or a Dockerfile: a static
# binary at /swarm-http and an empty /tmp, imported with `docker import`.
#
# Idempotent: the image carries the SHA-256 of its binary as a label, and an
# image whose label matches the fresh build is left as it is (no new image,
# no dangling one). Exits non-zero with a message when docker or go is
# missing or the engine does not answer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE=${IMAGE:-actorswarm/http:latest}
LABEL=com.actorswarm.binary.sha256

die() {
	echo "build-http-image: $*" >&2
	exit 1
}

command -v docker >/dev/null 2>&1 || die "docker not found in PATH (apt-get install -y docker.io)"
command -v go >/dev/null 2>&1 || die "go not found in PATH"
docker info >/dev/null 2>&1 || die "docker engine not reachable (is dockerd running? see 'docker info')"

WORK=$(mktemp -d -t actorswarm-http-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
mkdir -p "$WORK/root/tmp"
chmod 1777 "$WORK/root/tmp"
CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/actorswarm/swarm/internal/version.Version=$VERSION" \
	-o "$WORK/root/swarm-http" ./cmd/swarm-http

SUM=$(sha256sum "$WORK/root/swarm-http" | cut -d' ' -f1)
if HAVE=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null) &&
	[[ "$HAVE" == "$SUM" ]]; then
	echo "$IMAGE is up to date"
	exit 0
fi

tar --numeric-owner --owner=0 --group=0 -C "$WORK/root" -cf "$WORK/image.tar" .
docker import \
	--change 'ENTRYPOINT ["/swarm-http"]' \
	--change 'ENV PORT=80' \
	--change "LABEL $LABEL=$SUM" \
	- "$IMAGE" <"$WORK/image.tar" >/dev/null
echo "built $IMAGE"
