#!/usr/bin/env bash
# Build the pinned kubo (IPFS daemon, used by the IpfsBlobStore tests) into <repo>/.tools/bin/ipfs.
# Idempotent and cached: skips the build when .tools/bin/ipfs already prints the pinned version;
# Go's module and build caches live under .tools/ too (git-ignored).
#   scripts/install-kubo.sh            # build if needed, print the binary path
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# v0.43.0, not v0.43.1: v0.43.1's go.mod replaces go-libp2p with a fork
# (github.com/lidel/go-libp2p) whose pseudo-version the Go module proxy does not serve.
VERSION="v0.43.0"
TOOLS="$REPO/.tools"
BIN="$TOOLS/bin/ipfs"

version_of() { "$1" version --number 2>/dev/null | tr -d '[:space:]'; }

if [[ -x "$BIN" && "v$(version_of "$BIN")" == "$VERSION" ]]; then
    echo "$BIN"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is needed to build kubo $VERSION (go not found on PATH)" >&2
    exit 1
fi

mkdir -p "$TOOLS/bin"
echo "building kubo $VERSION into $TOOLS/bin (several minutes the first time)" >&2
export GOPATH="$TOOLS/go" GOCACHE="$TOOLS/go-cache" GOMODCACHE="$TOOLS/go/pkg/mod" \
    GOFLAGS="-modcacherw" GOTOOLCHAIN=local
# kubo's go.mod has exclude directives, which `go install pkg@version` refuses: download the
# module and build it as the main module instead (its go.mod and go.sum pin every dependency).
SRC="$(go mod download -json "github.com/ipfs/kubo@$VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$SRC" || ! -f "$SRC/go.mod" ]]; then
    echo "error: could not download github.com/ipfs/kubo@$VERSION" >&2
    exit 1
fi
(cd "$SRC" && go build -trimpath -o "$BIN" ./cmd/ipfs) >&2

GOT="v$(version_of "$BIN")"
if [[ "$GOT" != "$VERSION" ]]; then
    echo "error: built $BIN reports version '$GOT', expected $VERSION" >&2
    exit 1
fi
echo "$BIN"
