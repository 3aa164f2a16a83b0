"""Regenerate ``src/s4_tasks/data/tiny_prose.txt``: seeded English prose from a small grammar.

The text is original (written by this grammar, dedicated to the public domain) so it can ship.
Run: ``python scripts/make_tiny_prose.py`` from ``packages/s4-tasks``.
"""

from pathlib import Path

import numpy as np

PEOPLE = [
    "the miller",
    "the old keeper",
    "a young sailor",
    "the baker's daughter",
    "the smith",
    "a travelling clerk",
    "the shepherd",
    "the schoolmistress",
    "the ferryman",
    "my uncle",
]
PLACES = [
    "the harbour",
    "the north road",
    "the river bank",
    "the market square",
    "the chapel",
    "the long meadow",
    "the lighthouse",
    "the mill",
    "the orchard",
    "the station",
]
TIMES = [
    "at dawn",
    "in the evening",
    "before the rain",
    "after supper",
    "on the first of May",
    "in the cold of winter",
    "late that night",
    "when the bells rang",
    "at midday",
]
VERBS = [
    "walked to",
    "looked back at",
    "waited near",
    "spoke of",
    "dreamed of",
    "returned to",
    "painted",
    "sang about",
    "remembered",
    "left",
]
ADJS = ["quiet", "grey", "bright", "narrow", "ancient", "wet", "golden", "lonely", "busy", "green"]
NOUNS = ["wind", "sea", "lamp", "letter", "garden", "bridge", "clock", "field", "boat", "song"]
THOUGHTS = [
    "nothing stays the same for long",
    "the tide keeps its own counsel",
    "a kind word costs little",
    "every road bends twice before it ends",
    "the stars are patient",
    "work is lighter when it is shared",
    "the river remembers every stone",
    "a small fire warms a large room",
]


def sentence(rng):
    p = lambda xs: xs[rng.integers(len(xs))]
    kind = rng.integers(6)
    if kind == 0:
        return f"{p(PEOPLE).capitalize()} {p(VERBS)} {p(PLACES)} {p(TIMES)}."
    if kind == 1:
        return f"The {p(NOUNS)} was {p(ADJS)}, and the {p(NOUNS)} was {p(ADJS)}."
    if kind == 2:
        return f'"I think {p(THOUGHTS)}," said {p(PEOPLE)}.'
    if kind == 3:
        n = int(rng.integers(2, 60))
        return f"There were {n} {p(NOUNS)}s by {p(PLACES)}, {p(TIMES)}."
    if kind == 4:
        return (
            f"{p(TIMES).capitalize()}, {p(PEOPLE)} {p(VERBS)} the {p(ADJS)} {p(NOUNS)}, "
            f"for {p(THOUGHTS)}."
        )
    return f"Nobody at {p(PLACES)} knew why the {p(NOUNS)} seemed so {p(ADJS)}."


def main(n_bytes=200_000, seed=0):
    rng = np.random.default_rng(seed)
    paragraphs, size = [], 0
    while size < n_bytes:
        para = " ".join(sentence(rng) for _ in range(int(rng.integers(3, 9))))
        paragraphs.append(para)
        size += len(para) + 2
    out = Path(__file__).resolve().parents[1] / "src" / "s4_tasks" / "data" / "tiny_prose.txt"
    out.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
