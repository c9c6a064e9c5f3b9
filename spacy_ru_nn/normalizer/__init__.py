"""Entity normal forms for Russian: pymorphy3 rules and the `entity_normalizer` component."""
from .component import EntityNormalizer, make_entity_normalizer, normalize_span, set_normal_extension
from .rules import Morphology, normalize_name, normalize_person

__all__ = [
    "EntityNormalizer",
    "make_entity_normalizer",
    "normalize_span",
    "set_normal_extension",
    "Morphology",
    "normalize_name",
    "normalize_person",
]
