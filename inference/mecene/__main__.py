"""python -m inference.mecene "corporate confidence" [--seed 3] [--json]

Prints the concept, the keywords per category, the chosen keywords and the prompt. Offline unless
MECENE_LLM_URL is set.
"""

from __future__ import annotations

import argparse
import json
import sys

from inference.mecene.words import WordsError, normalise_words


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.mecene", description=__doc__.split("\n\n")[1])
    parser.add_argument("words", help="1 to 4 words, e.g. 'corporate confidence'")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same concept (default 0)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    try:
        normalise_words(args.words)  # refuse bad input before loading any model
    except WordsError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2

    from inference.mecene.agent import Mecene
    from inference.mecene.graph import NODES
    from inference.quiet import quiet_libraries
    from inference.terminal import StageBars

    quiet_libraries()
    with StageBars() as bars:  # on a terminal only
        bars.step("loading mecene", 0, 1)
        mecene = Mecene.from_env()
        bars.step("loading mecene", 1, 1)
        concept = mecene.run(
            args.words, seed=args.seed, on_node=lambda done, _: bars.step("mecene", done, len(NODES))
        )
    if args.json:
        print(json.dumps(concept.as_dict(), indent=2))
        return 0
    print(f"words:    {concept.words}  (seed {concept.seed}, engine {concept.engine})")
    print(f"\nconcept:  {concept.idea}\n")
    for category, words in concept.keywords.items():
        print(f"{category:>9}: {', '.join(words)}")
    print(f"\nchosen:   {', '.join(concept.chosen)}")
    print(f"\nprompt:   {concept.prompt}")
    print(f"negative: {concept.negative_prompt}")
    for note in concept.fallbacks:
        print(f"fallback: {note}")
    for note in concept.notes:
        print(f"note:     {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
