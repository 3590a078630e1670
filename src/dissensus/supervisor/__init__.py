"""The supervisor: resolves disputed cases with evidence and writes learning drafts.

Owns the supervisor agent, its read-only tools and the verified catalog lookup. It may import
``domain``, ``llm``, ``workers`` and the read side of ``knowledge``; it must not write the
knowledge base (the pipeline hands its drafts to the memory manager) or know about runs.
"""

from dissensus.supervisor.agent import Supervisor, SupervisorReport
from dissensus.supervisor.tools import KnowledgeReader, SupervisorTools
from dissensus.supervisor.verified_catalog import VerifiedCatalog, VerifiedProduct

__all__ = [
    "KnowledgeReader",
    "Supervisor",
    "SupervisorReport",
    "SupervisorTools",
    "VerifiedCatalog",
    "VerifiedProduct",
]
