"""Mecene, the prompt agent: a visitor's two words -> a portrait concept -> keywords in 8 categories ->
the 15 best -> the SDXL prompt. A LangGraph graph (graph.py) over an engine: an OpenAI-compatible chat
model when MECENE_LLM_URL is set (llm.py), else the offline engine (offline.py) that ranks our own
lexicon (lexicon.json) with a bundled sentence-embedding model (embeddings.py).

Entry point: `inference.mecene.agent.Mecene`; CLI: `python -m inference.mecene "corporate confidence"`.
This file stays import-light: the API checks words with `words.py` without loading any model.
"""
