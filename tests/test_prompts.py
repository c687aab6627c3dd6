"""The one rule mapping a model's named prompts to query and document prompts."""

from edge_embed.prompts import kind_prompts


def test_kind_prompts_maps_sentence_transformers_names():
    assert kind_prompts({"query": "query: ", "passage": "passage: "}) == {"query": "query: ", "document": "passage: "}
    assert kind_prompts({"document": "d: ", "passage": "p: ", "classification": "c: "}) == {"document": "d: "}
    assert kind_prompts({"query": ""}) == {} and kind_prompts(None) == {}
