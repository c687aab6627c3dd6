"""Moving artifacts to devices: verified, reproducible .tar.gz bundles (lean: standard library)."""

from edge_embed.deploy.bundle import install_artifact, package_artifact

__all__ = ["install_artifact", "package_artifact"]
