"""Matching ``safety.blocked_words`` against a prompt the way a reader (and the text encoder)
sees it, not as the characters it was typed with.

A prompt and each blocked word are *folded*: NFKC (fullwidth and other compatibility forms
become plain letters), accents and other combining marks dropped, invisible characters
(zero-width spaces and joiners, soft hyphens) removed, Cyrillic and Greek letters drawn like
Latin ones (``a``, ``o``, ``p``...) mapped to the letter they imitate, and case folded. The
folded prompt is then cut into *pieces*: runs of letters, split at anything else (spaces,
digits, ``_``, ``-``, ``::1``). A blocked word matches when its letters equal the letters of one
piece or of a run of consecutive pieces, so ``naked_man``, ``naked2``, ``na-ked``, ``n a k e d``
and ``nak::1 ed`` all match ``naked``, while ``nakedness`` or ``snaked`` do not (whole words
only) and ``a blood orange in a bath`` does not match ``blood bath``.

Not caught: digits or symbols standing for letters (``n4ked``, ``n@ked``), misspellings and
synonyms, words split by other letters, and look-alikes outside the table below.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

# Letters of other scripts drawn the same as a Latin letter (from Unicode's confusables, the ones
# a keyboard layout or a copy-paste gives easily), written as escapes so that the source shows
# what they are. Cyrillic, then Greek, then Latin letters that are not a letter plus a mark.
_LOOK_ALIKES = str.maketrans(
    "\u0430\u0432\u0435\u0451\u0456\u0457\u0458\u043a\u043c\u043d\u043e\u0440"
    "\u0441\u0442\u0443\u0445\u0455\u0501\u051b\u051d\u04cf\u04bb\u044c"
    "\u03b1\u03b2\u03b5\u03b7\u03b9\u03ba\u03bc\u03bd\u03bf\u03c1\u03c4\u03c5"
    "\u03c7\u03c9\u03f2\u03b6"
    "\u0131\u0142\u00f8\u0111\u0127\u0167",
    "abeeiijkmhopctyxsdqwlhbabenikuvoptuxwczilodht",
)


def fold(text: str) -> str:
    """``text`` as plain lower-case Latin letters where it only looks otherwise."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    kept = (
        char
        for char in decomposed
        # Mn: combining accents; Cf: zero-width spaces and joiners, soft hyphens, BOMs.
        if unicodedata.category(char) not in ("Mn", "Cf")
    )
    return "".join(kept).casefold().translate(_LOOK_ALIKES)


def pieces(text: str) -> list[str]:
    """The runs of letters of the folded ``text``, in order."""
    runs: list[str] = []
    current: list[str] = []
    for char in fold(text):
        if char.isalpha():
            current.append(char)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


class WordList:
    def __init__(self, words: Iterable[str]) -> None:
        self._words = frozenset(letters for word in words if (letters := "".join(pieces(word))))
        self._longest = max(map(len, self._words), default=0)

    def matches(self, text: str) -> bool:
        """Whether one of the words is one piece, or consecutive pieces, of ``text``."""
        runs = pieces(text)
        for start in range(len(runs)):
            joined = ""
            for run in runs[start:]:
                joined += run
                if len(joined) > self._longest:
                    break
                if joined in self._words:
                    return True
        return False


@functools.cache
def word_list(words: tuple[str, ...]) -> WordList:
    return WordList(words)
