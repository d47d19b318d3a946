"""Developer tooling: the pinned CometBFT build and the multi-validator localnet; see
README.md."""
