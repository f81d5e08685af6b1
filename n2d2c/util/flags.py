"""The words that spell a boolean in every text input n2d2c reads (INI values,
parameter files, ``-X`` backend options, sweep axes), so that one list holds for all."""

from __future__ import annotations

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
SPELLINGS = "0/1/true/false/yes/no/on/off"  # how error messages list them


def boolean_word(text: object) -> bool | None:
    """True or False for a boolean word (any case, surrounding spaces ignored), None for
    anything else, so the caller decides whether that is an error."""
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def is_true_word(text: object) -> bool:
    """Whether ``text`` is one of the true words (lenient readers: anything else is false)."""
    return boolean_word(text) is True
