"""Prompt text to SDXL embeddings: both CLIP text encoders, used together (encoder.py).

It sits beside models/ and faces/, below identity/ and portrait/: both fuse or lay out what it encodes.
"""
