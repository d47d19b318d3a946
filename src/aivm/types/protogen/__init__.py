"""Compiled AIVM protobuf types (see scripts/gen_proto.py)."""
