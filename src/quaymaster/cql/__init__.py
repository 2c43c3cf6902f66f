"""The cluster query language (docs/semantics.md: cluster query language).

``compile(text)`` parses an expression once (cached by text) into a
:class:`Query`; ``Query.mask(cluster)`` evaluates it over the instance table
as column operations. ``list_container_instances`` is ECS's
ListContainerInstances on top of it.

Layout: ``lexer`` (tokens with positions) -> ``parser`` (precedence climbing,
depth cap) -> ``ast`` (node types) -> ``lower`` (to column masks, with the
kernels of ``quaymaster.kernels.cql_masks``); ``values`` parses versions,
times, numbers and patterns.

Choices where the query language rules are silent (also in docs/semantics.md):

- Inside quotes a backslash escapes ``'``, ``"`` or ``\\``; before any other
  character it stays (``'t2\\.micro'`` reaches the regex as written). Bare
  values are taken literally.
- ``!exists`` and ``!in`` are single tokens (``! exists`` is an error).
- Every ``(`` and every ``not``/``!`` is one nesting level; the 101st is an
  error at the token that opens it (``not(`` counts two).
- An error at the end of the expression points at its last character.
- ``registeredAt``: offsets other than ``+00:00`` are accepted (any
  ``+HH:MM``/``-HH:MM``); fractional seconds are not (not one of the four
  forms). A pattern on it matches ``2018-06-18T22:28:28+00:00``
  (``.ffffff`` before the offset when there are microseconds).
- A pattern on ``runningTasksCount`` matches the decimal count, on
  ``agentConnected`` ``true``/``false``, on ``agentVersion`` the version as stored.
- An instance whose agent version is not a dotted version equals no version
  and is neither less nor greater than one (so ``!=``/``not_in`` hold for it).
- A decimal number needs digits before an optional fraction (``.5`` and
  ``5.`` are strings); numbers compare exactly, whatever their exponent.
- ``filter=""`` is an empty expression (an error), not "no filter".
"""

from quaymaster.cql.listing import list_container_instances, matching_positions
from quaymaster.cql.parser import MAX_DEPTH, MAX_LENGTH, parse
from quaymaster.cql.query import Query, compile
from quaymaster.errors import CQLError

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "CQLError", "Query", "compile", "list_container_instances",
           "matching_positions", "parse"]
