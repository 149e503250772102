"""Narcis inference: a plain Python package (no Django) that turns prompts and a face into portraits.

Entry points: ModelRegistry.load (registry.py), BaseStage (stages/base.py), `python -m inference`.
"""
