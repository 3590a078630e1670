"""Models: the only room that imports model SDKs or the local engine.

Owns the model registry (model strings such as ``local:gemma3-270m``), capability profiles,
pricing, the embedded xllamacpp engine and scripted test models. Must not know about catalogs,
knowledge or pipelines: it turns prompts into typed answers.
"""

from dissensus.llm.base import LLM, Answer, ModelProfile

__all__ = ["LLM", "Answer", "ModelProfile"]
