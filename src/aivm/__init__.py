"""AIVM: an AI-first, Cosmos-compatible Layer-1 blockchain with verifiable AI execution."""

__version__ = "0.1.0"
