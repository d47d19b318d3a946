"""The embedded devnet: the devnet's stand-in for consensus (block producer, mempool, block
store, tx index) and its CometBFT-compatible JSON-RPC; see README.md."""
