#!/usr/bin/env bash
# Build the pinned CometBFT (scripts/cometbft-version) into <repo>/.tools/bin/cometbft.
# Idempotent and cached: skips the build when .tools/bin/cometbft already prints the pinned
# version; Go's module and build caches live under .tools/ too (git-ignored).
#   scripts/install-cometbft.sh            # build if needed, print the binary path
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="$(tr -d '[:space:]' < "$REPO/scripts/cometbft-version")"
# The go directive of github.com/cometbft/cometbft@$VERSION's go.mod.
GO_NEEDED="1.22.11"
TOOLS="$REPO/.tools"
BIN="$TOOLS/bin/cometbft"

version_of() { "$1" version 2>/dev/null | tr -d '[:space:]'; }

if [[ -x "$BIN" && "v$(version_of "$BIN")" == "$VERSION" ]]; then
    echo "$BIN"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "error: Go >= $GO_NEEDED is needed to build CometBFT $VERSION (go not found on PATH)" >&2
    exit 1
fi
GO_HAVE="$(go env GOVERSION | sed 's/^go//')"
if [[ "$(printf '%s\n%s\n' "$GO_NEEDED" "$GO_HAVE" | sort -V | head -n1)" != "$GO_NEEDED" ]]; then
    echo "error: Go >= $GO_NEEDED is needed to build CometBFT $VERSION (found go$GO_HAVE)" >&2
    exit 1
fi

mkdir -p "$TOOLS/bin"
echo "building cometbft $VERSION into $TOOLS/bin (a few minutes the first time)" >&2
GOBIN="$TOOLS/bin" GOPATH="$TOOLS/go" GOCACHE="$TOOLS/go-cache" GOMODCACHE="$TOOLS/go/pkg/mod" \
    GOFLAGS="-modcacherw" GOTOOLCHAIN=local \
    go install "github.com/cometbft/cometbft/cmd/cometbft@$VERSION" >&2

GOT="v$(version_of "$BIN")"
if [[ "$GOT" != "$VERSION" ]]; then
    echo "error: built $BIN reports version '$GOT', expected $VERSION" >&2
    exit 1
fi
echo "$BIN"
