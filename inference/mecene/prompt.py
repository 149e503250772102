"""The final SDXL prompt: PhotoMaker's trigger phrase first (it marks where the identity goes), then the
visitor's own words, then the chosen keywords, most relevant first (SDXL weighs early tokens most)."""

from __future__ import annotations

from inference.identity.trigger import TRIGGER


def compose_prompt(words: str, chosen: list[str]) -> str:
    return ", ".join([f"portrait of a person {TRIGGER}", words, *chosen])
