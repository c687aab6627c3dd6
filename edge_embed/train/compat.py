"""sentence-transformers moved its training classes in 5.7; import them from wherever this version has them."""

from __future__ import annotations

try:  # sentence-transformers >= 5.7
    from sentence_transformers.base.evaluation.evaluator import BaseEvaluator as SentenceEvaluator
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer import losses
except ImportError:  # pragma: no cover - older layout
    from sentence_transformers import losses  # type: ignore[no-redef,attr-defined]
    from sentence_transformers.evaluation import SentenceEvaluator  # type: ignore[no-redef]
    from sentence_transformers.training_args import BatchSamplers  # type: ignore[no-redef]

__all__ = ["BatchSamplers", "SentenceEvaluator", "losses"]
