"""One config from domain data to a benchmarked artifact: train -> export -> quantize -> bench -> report.

``edge_embed.pipeline.config`` validates a config on any install; running the stages needs the build extra.
"""
