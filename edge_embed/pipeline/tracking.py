"""Log a pipeline run to MLflow (optional extra ``[mlflow]``): parameters, metrics, the run record and the report.
The manifests and reports on disk stay the source of truth; MLflow is a view for teams that already use it."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from edge_embed._extras import require_build
from edge_embed.records import REPORT_FILES, RUN_RECORD, BenchReport, RunRecord

if TYPE_CHECKING:
    from edge_embed.pipeline.config import PipelineConfig
    from edge_embed.pipeline.runner import PipelineResult


def log_to_mlflow(config: PipelineConfig, result: PipelineResult) -> str:
    """Log one MLflow run for this pipeline run; return its MLflow run id.

    Raises:
        MissingExtraError: If mlflow is not installed (``pip install 'edge-embed[mlflow]'``).
    """
    require_build("[mlflow] tracking", ("mlflow",), extra="mlflow")
    import mlflow

    settings = config.mlflow or {}
    uri = settings.get("tracking_uri") or f"sqlite:///{config.workspace / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    name = settings.get("experiment", "edge-embed")
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    experiment_id = (
        experiment.experiment_id
        if experiment
        else client.create_experiment(name, artifact_location=(config.workspace / "mlartifacts" / name).as_uri())
    )
    with mlflow.start_run(experiment_id=experiment_id, run_name=config.name) as run:
        mlflow.set_tags({"edge_embed.pipeline": str(config.source), "edge_embed.deployable": str(result.deployable)})
        params: dict[str, Any] = {"data.path": config.data["path"], "data.license": config.data.get("license")}
        params.update({f"train.{k}": v for k, v in config.train.items()})
        params.update(
            {f"quantize.{q.get('name') or q['method']}": json.dumps(q, sort_keys=True) for q in config.quantize}
        )
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        if result.run_dir is not None and (result.run_dir / RUN_RECORD).is_file():
            record = RunRecord.read(result.run_dir)
            mlflow.set_tag("edge_embed.run_id", record.run_id)
            for stage, splits in (("base", record.base_metrics), ("finetuned", record.finetuned_metrics)):
                for split, dims in splits.items():
                    for dim, metrics in dims.items():
                        mlflow.log_metrics({_name(f"{stage}.{split}.{dim}.{k}"): v for k, v in metrics.items()})
            mlflow.log_artifact(str(result.run_dir / RUN_RECORD))
        if result.report_dir is not None:
            for row in BenchReport.read(result.report_dir).rows:
                prefix = _name(f"bench.{row.label}")
                mlflow.log_metrics(
                    {
                        f"{prefix}.ndcg_at_10": row.ndcg,
                        f"{prefix}.p95_ms": row.p95_ms,
                        f"{prefix}.texts_per_s": row.texts_per_s,
                    }
                )
            for name in REPORT_FILES:
                if (result.report_dir / name).is_file():
                    mlflow.log_artifact(str(result.report_dir / name), artifact_path="report")
        return str(run.info.run_id)


def _name(text: str) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", text.replace("@", "_at_"))
