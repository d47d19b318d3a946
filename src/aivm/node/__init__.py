"""Node services shared by the devnet and a CometBFT node: ABCI server, REST gateway, content
store, snapshots, home and config; see README.md."""
