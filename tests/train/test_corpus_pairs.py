"""Corpus-only training pairs: what each method makes from real passages, seeded, and a clear refusal when the
corpus is too small. Lean (no model)."""

import pytest

from edge_embed.errors import InputError
from edge_embed.index.documents import Document, read_documents
from edge_embed.train.config import CorpusMethod, preset
from edge_embed.train.corpus_pairs import CROP_MIN_WORDS, MIN_PAIRS, TSDAE_DELETE, TSDAE_MIN_WORDS, corpus_pairs

PASSAGE = Document(
    "d1",
    "Glaucoma damages the optic nerve. It is often linked to high eye pressure! Early treatment can slow it. "
    "Eye drops lower the pressure.",
    title="Glaucoma",
)


def _corpus(n: int) -> list[Document]:
    return [Document(f"d{i}", PASSAGE.text.replace("Glaucoma", f"Disease {i}"), title=f"Disease {i}") for i in range(n)]


def test_each_method_makes_its_pair_from_one_passage():
    made = corpus_pairs(_corpus(MIN_PAIRS), [CorpusMethod.TITLE, CorpusMethod.ICT, CorpusMethod.CROPS], seed=3)
    assert made.made == {"title": MIN_PAIRS, "ict": MIN_PAIRS, "crops": MIN_PAIRS} and made.passages == MIN_PAIRS
    title, ict, crops = made.rows[0], made.rows[MIN_PAIRS], made.rows[2 * MIN_PAIRS]
    assert title == ("Disease 0", "Disease 0. " + _corpus(1)[0].text, None)
    sentence, rest = ict[0], ict[1]
    assert sentence in _corpus(1)[0].text and rest.startswith("Disease 0. ") and sentence.endswith((".", "!"))
    words = _corpus(1)[0].embedded_text.split()
    for span in crops[:2]:
        assert len(span.split()) >= CROP_MIN_WORDS and span in " ".join(words)
    again = corpus_pairs(_corpus(MIN_PAIRS), [CorpusMethod.TITLE, CorpusMethod.ICT, CorpusMethod.CROPS], seed=3)
    assert again.rows == made.rows  # seeded
    assert corpus_pairs(_corpus(MIN_PAIRS), [CorpusMethod.CROPS], seed=4).rows != made.rows[2 * MIN_PAIRS :]


def test_ict_mostly_removes_the_sentence():
    rows = corpus_pairs(_corpus(400), [CorpusMethod.ICT], seed=0).rows
    removed = sum(sentence not in rest for sentence, rest, _ in rows) / len(rows)
    assert 0.8 < removed < 0.97  # the sentence stays in its passage one time in ten


def test_tsdae_damages_every_sentence_of_a_passage():
    documents = _corpus(MIN_PAIRS)
    made = corpus_pairs(documents, [CorpusMethod.TSDAE], seed=5)
    # PASSAGE has four sentences, each of at least TSDAE_MIN_WORDS words
    assert made.made == {"tsdae": len(made.rows)} and len(made.rows) == 4 * MIN_PAIRS
    kept = []
    for (damaged, sentence, _), origin in zip(made.rows, made.origins, strict=True):
        assert sentence in documents[origin].text and len(sentence.split()) >= TSDAE_MIN_WORDS  # a whole sentence
        words = iter(sentence.split())
        assert damaged and all(word in words for word in damaged.split())  # some of its words, in order
        kept.append(len(damaged.split()) / len(sentence.split()))
    assert abs(sum(kept) / len(kept) - (1 - TSDAE_DELETE)) < 0.1
    assert corpus_pairs(_corpus(MIN_PAIRS), [CorpusMethod.TSDAE], seed=5).rows == made.rows  # seeded


@pytest.mark.parametrize(
    ("method", "documents", "needs"),
    [
        (CorpusMethod.TITLE, [Document(f"d{i}", "text without a title") for i in range(100)], "passages with a title"),
        (CorpusMethod.ICT, [Document(f"d{i}", "One sentence only", "t") for i in range(100)], "two or more sentences"),
        (CorpusMethod.CROPS, _corpus(MIN_PAIRS - 1), "10 or more words"),
    ],
)
def test_a_corpus_too_small_for_a_method_is_refused_naming_the_minimum(method, documents, needs):
    with pytest.raises(InputError, match=rf"too small for '{method.value}'.*at least {MIN_PAIRS} needed .*{needs}"):
        corpus_pairs(documents, [method])


def test_methods_are_parsed_and_checked_in_the_config():
    config = preset("tiny", data=({"path": "corpus.jsonl"},), unsupervised="title, ict,title")
    assert config.unsupervised == ("title", "ict")
    with pytest.raises(InputError, match="unknown corpus-only method 'simcse'; allowed: title, ict, crops, tsdae"):
        preset("tiny", data=({"path": "corpus.jsonl"},), unsupervised="simcse")
    with pytest.raises(InputError, match="tsdae trains alone .*--base-model RUN/final --unsupervised title,ict"):
        preset("tiny", data=({"path": "corpus.jsonl"},), unsupervised="tsdae,ict")
    with pytest.raises(InputError, match="tsdae trains with its own denoising loss: drop --loss, --matryoshka-dims"):
        preset("tiny", data=({"path": "corpus.jsonl"},), unsupervised="tsdae", matryoshka_dims=(128,))
    assert preset("tiny", data=({"path": "corpus.jsonl"},), unsupervised="tsdae").denoising and not config.denoising
    assert preset("tiny", data=({"path": "corpus.jsonl"},)).fingerprint([]) != config.fingerprint([])


SECTIONS = ("is caused by a faulty gene.", "is treated with eye drops.", "shows blurred vision first.")


def _sectioned(topics: int) -> list[Document]:
    """Three sections (passages of one title) per topic, then as many topics of one passage each."""
    grouped = [
        Document(f"t{t}s{s}", f"Topic {t} {section} Its course varies. Doctors follow it yearly.", title=f"Topic {t}")
        for t in range(topics)
        for s, section in enumerate(SECTIONS)
    ]
    return grouped + [Document(f"u{t}", PASSAGE.text, title=f"Lone {t}") for t in range(topics)]


def test_sibling_negatives_come_from_the_same_title_for_ict_and_crops_and_from_another_for_title():
    documents = _sectioned(30)
    methods = CorpusMethod.parse("title,ict,crops")
    made = corpus_pairs(documents, methods, seed=7, sibling_negatives=True)
    plain = corpus_pairs(documents, methods, seed=7)
    assert [row[:2] for row in made.rows] == [row[:2] for row in plain.rows]  # the same pairs, now with negatives
    title_of = {d.embedded_text: d.title for d in documents}
    method_of = [m for m in methods for _ in range(made.made[m.value])]
    for (_, _, negative), origin, method in zip(made.rows, made.origins, method_of, strict=True):
        document = documents[origin]
        assert negative != document.embedded_text
        sibling = title_of[negative] == document.title
        assert sibling == (method is not CorpusMethod.TITLE and document.id.startswith("t")), (method, document.id)
    assert made.siblings == 2 * 30 * len(SECTIONS) and plain.siblings == 0
    assert corpus_pairs(documents, methods, seed=7, sibling_negatives=True).rows == made.rows  # seeded


def test_sibling_negatives_are_refused_where_they_cannot_work():
    one_title = [Document(f"d{i}", PASSAGE.text, title="Glaucoma") for i in range(MIN_PAIRS)]
    with pytest.raises(InputError, match=r"at least two titles; all 64 share one: drop --sibling-negatives"):
        corpus_pairs(one_title, [CorpusMethod.ICT], sibling_negatives=True)
    for titles in (lambda i: f"Disease {i}", lambda i: None):  # every title its own, or none at all
        alone = [Document(f"d{i}", PASSAGE.text, title=titles(i)) for i in range(MIN_PAIRS)]
        with pytest.raises(InputError, match=r"no two of the 64 passages share a title.*drop --sibling-negatives"):
            corpus_pairs(alone, [CorpusMethod.ICT], sibling_negatives=True)
    with pytest.raises(InputError, match="sibling negatives rank pairs; tsdae reconstructs sentences"):
        corpus_pairs(_sectioned(30), [CorpusMethod.TSDAE], sibling_negatives=True)
    data = ({"path": "corpus.jsonl"},)
    for bad in ({}, {"unsupervised": "tsdae"}, {"unsupervised": "ict", "hard_negatives": 1}):
        with pytest.raises(InputError, match="--sibling-negatives gives corpus-only pairs their negatives"):
            preset("tiny", data=data, sibling_negatives=True, **bad)
    without = preset("tiny", data=data, unsupervised="ict")
    with_negatives = preset("tiny", data=data, unsupervised="ict", sibling_negatives=True)
    assert with_negatives.fingerprint([]) != without.fingerprint([])  # runs without keep their ids (test_presets)


def test_real_passages_give_pairs_by_every_method(medquad_mini):
    documents = read_documents(medquad_mini)
    made = corpus_pairs(documents, CorpusMethod.parse("title,ict,crops"))
    assert all(count >= MIN_PAIRS for count in made.made.values())
    assert len(made.rows) == sum(made.made.values())
