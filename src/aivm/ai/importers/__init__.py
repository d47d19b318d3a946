"""Importers: trained models (scikit-learn, XGBoost, LightGBM, ONNX) → canonical DSM models.

Importers run off-chain (they may use floats and third-party libraries); what they produce is
an integer-only :class:`aivm.ai.runtime.Model` whose serialization is the on-chain artifact.
"""
