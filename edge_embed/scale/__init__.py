"""Scale out: embed a whole corpus on Ray Data or Spark with the lean runtime in every worker, or in one process
with the same code (``edge-embed embed-corpus --engine local|ray|spark``)."""

from edge_embed.scale.engines import EngineName, embed_ray, embed_spark
from edge_embed.scale.job import CorpusJob, embed_corpus
from edge_embed.scale.output import CorpusVectors, read_corpus_vectors
from edge_embed.scale.worker import WorkerSettings

__all__ = [
    "CorpusJob",
    "CorpusVectors",
    "EngineName",
    "WorkerSettings",
    "embed_corpus",
    "embed_ray",
    "embed_spark",
    "read_corpus_vectors",
]
