"""The cluster query language (spec: cql.md).

``compile(text)`` parses an expression once (cached by text) into a
:class:`Query`; ``Query.mask(cluster)`` evaluates it over the instance table
as column operations. ``list_container_instances`` is ECS's
ListContainerInstances on top of it.

Layout: ``lexer`` (tokens with positions) -> ``parser`` (precedence climbing,
depth cap) -> ``ast`` (node types) -> ``lower`` (to column masks, with the
kernels of ``quaymaster.kernels.cql_masks``); ``values`` parses versions,
times, numbers and patterns.
"""

from quaymaster.cql.listing import list_container_instances, matching_positions
from quaymaster.cql.parser import MAX_DEPTH, MAX_LENGTH, parse
from quaymaster.cql.query import Query, compile
from quaymaster.errors import CQLError

__all__ = ["CQLError", "MAX_DEPTH", "MAX_LENGTH", "Query", "compile", "list_container_instances",
           "matching_positions", "parse"]
