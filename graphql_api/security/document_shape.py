"""A linear walk over a parsed document that refuses, before validation, what would make validation slow.

graphql-core's validation compares every pair of selections that merge into one place of the response
(OverlappingFieldsCanBeMerged): 500 copies of one field take seconds, and fragments spread inside fragments
multiply a short document into a huge one. This walk expands fragments where they are spread, as execution
would, and stops as soon as the document has more selections than allowed, more selections merging into one
place than allowed, or fields (or fragments within fragments) nested deeper than allowed. Its own work is
bounded by those same limits, and so is the recursion of the validation that follows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from graphql_api.errors import QueryTooComplex


@dataclass(frozen=True)
class ShapeLimits:
    max_fields: int
    max_field_repeats: int
    max_depth: int


class _Walk:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], limits: ShapeLimits) -> None:
        self.fragments = fragments
        self.limits = limits
        self.selections = 0
        self.spread: set[str] = set()

    def _count(self) -> None:
        self.selections += 1
        if self.selections > self.limits.max_fields:
            raise QueryTooComplex(
                f"The document selects more than {self.limits.max_fields} fields (fragments count each time "
                "they are spread); split it into smaller documents.",
                maxFields=self.limits.max_fields,
            )

    def _fields(self, selection_set: SelectionSetNode, spreading: tuple[str, ...]) -> Iterator[FieldNode]:
        """The fields of a selection set with its fragments expanded; a fragment that spreads itself is not
        followed (validation reports the cycle)."""
        for selection in selection_set.selections:
            self._count()
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in spreading:
                    self._check_nesting(name, len(spreading) + 1)
                    self.spread.add(name)
                    yield from self._fields(fragment.selection_set, (*spreading, name))

    def _check_nesting(self, name: str, nesting: int) -> None:
        if nesting > self.limits.max_depth:
            raise QueryTooComplex(
                f"Fragment '{name}' is spread within {nesting - 1} other fragments; at most "
                f"{self.limits.max_depth} may nest.",
                maxDepth=self.limits.max_depth,
            )

    def merged(self, selection_sets: Iterable[SelectionSetNode], depth: int) -> None:
        """Groups the fields that land on one place of the response, checks each group, then its children."""
        groups: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            for node in self._fields(selection_set, ()):
                key = (node.alias or node.name).value
                group = groups.setdefault(key, [])
                group.append(node)
                self._check_group(key, group, depth)
        for nodes in groups.values():
            children = [node.selection_set for node in nodes if node.selection_set is not None]
            if children:
                self.merged(children, depth + 1)

    def _check_group(self, key: str, nodes: Sequence[FieldNode], depth: int) -> None:
        if depth > self.limits.max_depth:
            raise QueryTooComplex(
                f"'{key}' is nested {depth} fields deep; the maximum operation depth is {self.limits.max_depth}.",
                maxDepth=self.limits.max_depth,
            )
        if len(nodes) > self.limits.max_field_repeats:
            raise QueryTooComplex(
                f"'{key}' is selected more than {self.limits.max_field_repeats} times at one place of the "
                "response (fragments included).",
                maxFieldRepeats=self.limits.max_field_repeats,
            )


def check_document_shape(document: DocumentNode, limits: ShapeLimits) -> None:
    """Raises QueryTooComplex for a document over the limits. Every operation is walked from its root (root
    fields are at depth 0), then every fragment no operation spreads, since validation looks at it too."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = _Walk(fragments, limits)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk.merged([definition.selection_set], 0)
    for name, fragment in fragments.items():
        if name not in walk.spread:
            walk.merged([fragment.selection_set], 0)
