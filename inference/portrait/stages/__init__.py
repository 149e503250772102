"""The two stages of a portrait: base.py (SDXL from noise) and detailing.py (faces re-denoised); both
take inputs.StageRequest and sample with inference.portrait.sampling, and neither imports the other."""
