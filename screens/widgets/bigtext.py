"""Large letters for the wallboard's status word, readable across a room.

Textual's `Digits` only draws digits and hex letters, so "OK", "WARN", "CRIT" and "UNKNOWN"
need their own glyphs. Each is a 5×5 bitmap drawn with half blocks, two pixel rows per
terminal row, so a word costs 3 rows of screen."""

from __future__ import annotations

_GLYPHS = {
    "A": (" ### ", "#   #", "#####", "#   #", "#   #"),
    "C": (" ####", "#    ", "#    ", "#    ", " ####"),
    "E": ("#####", "#    ", "#### ", "#    ", "#####"),
    "G": (" ####", "#    ", "#  ##", "#   #", " ####"),
    "I": ("###", " # ", " # ", " # ", "###"),
    "K": ("#   #", "#  # ", "###  ", "#  # ", "#   #"),
    "N": ("#   #", "##  #", "# # #", "#  ##", "#   #"),
    "O": (" ### ", "#   #", "#   #", "#   #", " ### "),
    "R": ("#### ", "#   #", "#### ", "#  # ", "#   #"),
    "T": ("#####", "  #  ", "  #  ", "  #  ", "  #  "),
    "U": ("#   #", "#   #", "#   #", "#   #", " ### "),
    "W": ("#   #", "#   #", "# # #", "## ##", "#   #"),
    " ": ("  ", "  ", "  ", "  ", "  "),
}
_HALF = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def big_text(word: str) -> list[str]:
    """Three lines of half-block art for `word` (letters of the status words only)."""
    try:
        glyphs = [_GLYPHS[c] for c in word.upper()]
    except KeyError as e:
        raise ValueError(f"big_text has no glyph for {e.args[0]!r}") from None
    pixels = ["  ".join(g[r] for g in glyphs) for r in range(5)]
    width = len(pixels[0])
    pixels.append(" " * width)  # an even number of pixel rows
    return [
        "".join(_HALF[(top[i] == "#", bottom[i] == "#")] for i in range(width))
        for top, bottom in zip(pixels[0::2], pixels[1::2])
    ]
