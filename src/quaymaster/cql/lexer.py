"""Tokens of a CQL expression, with positions (docs/semantics.md: cluster query language, ECS contract section 1).

The lexer is a generator: the parser pulls one token at a time, so the first
error in reading order is the one reported, and every character is looked at
a bounded number of times (linear in the length of the expression).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from quaymaster.errors import CQLError

WORD = "word"          # a BARE run: subject, word operator, keyword or value
STRING = "string"      # a QUOTED value, quotes removed and escapes resolved
SYMBOL = "symbol"      # == != > >= < <= =~ !~ !exists !in ! && ||
LPAREN, RPAREN, LBRACKET, RBRACKET, COMMA = "(", ")", "[", "]", ","
END = "end"

# BARE: anything but white space and ( ) [ ] , ' " = ! < > & | ~
_BARE_RE = re.compile(r"""[^\s()\[\],'"=!<>&|~]+""")
_SPACE_RE = re.compile(r"\s+")
_PUNCTUATION = {"(": LPAREN, ")": RPAREN, "[": LBRACKET, "]": RBRACKET, ",": COMMA}
# Longest first, so ">=" is not read as ">" then "=".
_SYMBOLS = ("==", "=~", "!=", "!~", "<=", ">=", "&&", "||", "<", ">", "!")
# "!" directly followed by one of these words is a single operator.
_BANG_WORDS = ("exists", "in")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str       # the value for WORD/STRING, the symbol otherwise
    position: int   # index of the first character
    end: int        # index after the last character

    def source(self, expression: str) -> str:
        """The token as written (with quotes), for messages."""
        return expression[self.position:self.end]


def tokenize(expression: str) -> Iterator[Token]:
    """Yield the tokens of ``expression``, then one END token; raise CQLError on bad input."""
    i, n = 0, len(expression)
    while True:
        space = _SPACE_RE.match(expression, i)
        if space:
            i = space.end()
        if i >= n:
            yield Token(END, "", n, n)
            return
        char = expression[i]
        if char in _PUNCTUATION:
            yield Token(_PUNCTUATION[char], char, i, i + 1)
            i += 1
        elif char in "'\"":
            token = _quoted(expression, i)
            yield token
            i = token.end
        elif bare := _BARE_RE.match(expression, i):
            yield Token(WORD, bare.group(), i, bare.end())
            i = bare.end()
        else:
            token = _symbol(expression, i)
            yield token
            i = token.end


def _quoted(expression: str, start: int) -> Token:
    """A quoted value; a backslash escapes the enclosing quote or a backslash (docs/semantics.md (cluster query language):
    "a backslash escapes the quote or itself"), and is kept before anything else,
    the other quote character included (so the pattern ``'t2\\.micro'`` reaches the
    regex as written, and ``'say \\"hi\\"'`` keeps its backslashes)."""
    quote = expression[start]
    escapable = ("\\", quote)
    chars: list[str] = []
    i, n = start + 1, len(expression)
    while i < n:
        char = expression[i]
        if char == "\\" and i + 1 < n and expression[i + 1] in escapable:
            chars.append(expression[i + 1])
            i += 2
        elif char == quote:
            return Token(STRING, "".join(chars), start, i + 1)
        else:
            chars.append(char)
            i += 1
    raise CQLError(f"unterminated quoted value: no closing {quote} for the quote at position "
                   f"{start}", expression=expression, position=start)


def _symbol(expression: str, i: int) -> Token:
    for symbol in _SYMBOLS:
        if expression.startswith(symbol, i):
            if symbol == "!":
                word = _BARE_RE.match(expression, i + 1)
                if word and word.group() in _BANG_WORDS:
                    return Token(SYMBOL, "!" + word.group(), i, word.end())
            return Token(SYMBOL, symbol, i, i + len(symbol))
    char = expression[i]
    hint = {"=": " (did you mean '=='?)", "&": " (did you mean '&&'?)",
            "|": " (did you mean '||'?)", "~": " (did you mean '=~'?)"}.get(char, "")
    raise CQLError(f"unexpected character {char!r}{hint}", expression=expression, position=i)
