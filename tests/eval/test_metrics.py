"""The numpy metrics against trec_eval (pytrec_eval) on the same run and qrels, and hand-checked cases."""

import numpy as np
import pytest

from edge_embed.eval.metrics import Cutoffs, evaluate_embeddings, ranking_metrics, top_k


def test_hand_computed_example():
    ranked = {"q1": ["a", "x", "b"], "q2": ["y", "z", "c"]}
    relevant = {"q1": {"a", "b"}, "q2": {"c"}}
    got = ranking_metrics(ranked, relevant, Cutoffs(ndcg=(3,), mrr=(3,), recall=(1, 3), map=(3,)))
    ndcg_q1 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    ndcg_q2 = (1 / np.log2(4)) / 1
    assert got["ndcg@3"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2)
    assert got["mrr@3"] == pytest.approx((1 + 1 / 3) / 2)
    assert got["recall@1"] == pytest.approx((0.5 + 0) / 2)
    assert got["recall@3"] == pytest.approx(1.0)
    assert got["map@3"] == pytest.approx(((1 + 2 / 3) / 2 + 1 / 3) / 2)


def test_top_k_matches_full_sort():
    rng = np.random.default_rng(3)
    q, c = rng.standard_normal((17, 12)), rng.standard_normal((300, 12))
    indices, scores = top_k(q, c, 25, chunk=5)
    unit_q = q / np.linalg.norm(q, axis=1, keepdims=True)
    unit_c = c / np.linalg.norm(c, axis=1, keepdims=True)
    full = np.argsort(-(unit_q @ unit_c.T), axis=1)[:, :25]
    np.testing.assert_array_equal(indices, full)
    assert np.all(np.diff(scores, axis=1) <= 0)
    assert top_k(q, c[:7], 25)[0].shape == (17, 7)  # k capped at the corpus size


def test_metrics_match_trec_eval_on_the_same_run():
    pytrec_eval = pytest.importorskip("pytrec_eval", reason="pytrec-eval-terrier is in the [test] extra")
    rng = np.random.default_rng(11)
    n_queries, n_corpus = 60, 400
    corpus_ids = [f"d{i}" for i in range(n_corpus)]
    query_ids = [f"q{i}" for i in range(n_queries)]
    relevant = {q: {corpus_ids[j] for j in rng.choice(n_corpus, rng.integers(1, 5), replace=False)} for q in query_ids}
    corpus = rng.standard_normal((n_corpus, 16)).astype(np.float32)
    # Queries near one of their relevant passages, with noise: realistic, tie-free rankings.
    queries = np.stack([corpus[int(next(iter(relevant[q]))[1:])] + rng.normal(0, 1.2, 16) for q in query_ids])
    ours = evaluate_embeddings(queries, corpus, query_ids, corpus_ids, relevant)

    indices, scores = top_k(queries, corpus, 100)
    qrels = {q: {d: 1 for d in relevant[q]} for q in query_ids}

    def run_at(k):
        return {
            q: {corpus_ids[i]: float(s) for i, s in zip(indices[n][:k], scores[n][:k])} for n, q in enumerate(query_ids)
        }

    def trec(measure, k):
        evaluator = pytrec_eval.RelevanceEvaluator(qrels, {measure})
        per_query = evaluator.evaluate(run_at(k))
        key = next(iter(per_query[query_ids[0]]))
        return float(np.mean([per_query[q][key] for q in query_ids]))

    assert ours["ndcg@10"] == pytest.approx(trec("ndcg_cut.10", 100), abs=1e-9)
    assert ours["mrr@10"] == pytest.approx(trec("recip_rank", 10), abs=1e-9)
    assert ours["recall@1"] == pytest.approx(trec("recall.1", 100), abs=1e-9)
    assert ours["recall@10"] == pytest.approx(trec("recall.10", 100), abs=1e-9)
    assert ours["recall@100"] == pytest.approx(trec("recall.100", 100), abs=1e-9)
    assert ours["map@100"] == pytest.approx(trec("map_cut.100", 100), abs=1e-9)  # equal while |relevant| <= 100


def test_per_query_ndcg_matches_trec_eval_query_by_query():
    pytrec_eval = pytest.importorskip("pytrec_eval", reason="pytrec-eval-terrier is in the [test] extra")
    from edge_embed.eval.metrics import per_query_ndcg, rank_corpus, ranking_metrics

    rng = np.random.default_rng(5)
    corpus_ids = [f"d{i}" for i in range(200)]
    query_ids = [f"q{i}" for i in range(40)]
    relevant = {q: {corpus_ids[j] for j in rng.choice(200, rng.integers(1, 4), replace=False)} for q in query_ids}
    corpus = rng.standard_normal((200, 12)).astype(np.float32)
    queries = np.stack([corpus[int(next(iter(relevant[q]))[1:])] + rng.normal(0, 1.0, 12) for q in query_ids])
    ranked = rank_corpus(queries, corpus, query_ids, corpus_ids, 10)
    ours = per_query_ndcg(ranked, relevant, 10)
    indices, scores = top_k(queries, corpus, 10)
    run = {q: {corpus_ids[i]: float(s) for i, s in zip(indices[n], scores[n])} for n, q in enumerate(query_ids)}
    trec = pytrec_eval.RelevanceEvaluator({q: {d: 1 for d in relevant[q]} for q in query_ids}, {"ndcg_cut.10"})
    for qid, values in trec.evaluate(run).items():
        assert ours[qid] == pytest.approx(values["ndcg_cut_10"], abs=1e-9)
    assert np.mean(list(ours.values())) == pytest.approx(ranking_metrics(ranked, relevant)["ndcg@10"], abs=1e-12)
