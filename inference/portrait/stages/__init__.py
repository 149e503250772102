"""The two stages of a portrait: base.py (SDXL from noise) and detailing.py (faces re-denoised)."""
