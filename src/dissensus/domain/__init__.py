"""Pure data shared by every room: products, schemas, worker outputs, results, learnings.

Owns the types that cross boundaries. Must not do I/O beyond reading a schema file it is
handed, and must not import any other dissensus room.
"""

from dissensus.domain.case import AttributeDispute, Case, Resolution
from dissensus.domain.category import ROOT_KEY, CategoryPath
from dissensus.domain.example import SolvedExample
from dissensus.domain.extraction import Evaluation, Extraction, Verdict, VerdictKind
from dissensus.domain.learning import Learning, LearningDraft, LearningKind, LearningStatus
from dissensus.domain.lexicon import Lexicon, LexiconMatch
from dissensus.domain.overlaps import separate
from dissensus.domain.product import SIGNAL_FIELDS, Product
from dissensus.domain.result import AttributeResult, EnrichedRecord, Status
from dissensus.domain.schema import AttributeSpec, CatalogSchema, CategorySchema
from dissensus.domain.track_record import RouteKey, TrackCounts
from dissensus.domain.usage import Usage

__all__ = [
    "ROOT_KEY",
    "SIGNAL_FIELDS",
    "AttributeDispute",
    "AttributeResult",
    "AttributeSpec",
    "Case",
    "CatalogSchema",
    "CategoryPath",
    "CategorySchema",
    "EnrichedRecord",
    "Evaluation",
    "Extraction",
    "Learning",
    "LearningDraft",
    "LearningKind",
    "LearningStatus",
    "Lexicon",
    "LexiconMatch",
    "Product",
    "Resolution",
    "RouteKey",
    "SolvedExample",
    "Status",
    "TrackCounts",
    "Usage",
    "Verdict",
    "VerdictKind",
    "separate",
]
