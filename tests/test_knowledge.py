"""Knowledge-base search: by word forms (BM25 over stemmed words) and, with MiniLM, by meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.knowledge import KnowledgeBase, stems

ROOT = Path(__file__).resolve().parent.parent
KB = KnowledgeBase.load(ROOT / "scenarios" / "kb")


def test_word_forms_match_and_the_best_article_ranks_first():
    assert KB.search("gift card refund")[0].id == "returns-and-refunds"
    assert KB.search("two-step")[0].id == "account-security"
    # "charged twice": the article says "double charges"; stemming makes "charged" and "charges" one word.
    assert KB.search("charged twice")[0].id == "billing-disputes"
    assert KB.search("refunding")[0].id in {"returns-and-refunds", "billing-disputes"}
    assert KB.search("zebra crossing") == []
    assert stems("Charged charges CHARGING") == ["charg"] * 3


def test_empty_query_lists_the_scenarios_articles_and_citation_is_kb_id():
    [article] = KB.search("", prefer=["delivery-delays"])
    assert article.citation == "kb:delivery-delays" and article.title == "Delivery delays and lost parcels"
    assert KB.search("the and of", prefer=["delivery-delays"]) == [article]  # only stop words: as empty


def test_preferred_articles_get_a_lift_among_the_matches():
    ids = [a.id for a in KB.search("refund", prefer=["billing-disputes"], limit=20)]
    assert ids[0] == "billing-disputes" and "returns-and-refunds" in ids
    assert "billing-disputes" not in [a.id for a in KB.search("zebra", prefer=["billing-disputes"])]


def test_missing_folder_is_an_empty_knowledge_base(tmp_path):
    assert KnowledgeBase.load(tmp_path / "nope").search("anything") == []


def test_meaning_comes_from_the_embedder_passed_in():
    """An embedder that puts one passage next to the query finds its article though no word is shared."""
    import numpy as np

    def embed(texts):
        return np.array([[1.0, 0.0] if ("pending authorisation" in t or t == "xyzzy plugh")
                         else [0.0, 1.0] for t in texts])

    kb = KnowledgeBase.load(ROOT / "scenarios" / "kb", embed)
    assert KB.search("xyzzy plugh") == []
    assert kb.search("xyzzy plugh")[0].id == "billing-disputes"


# Queries as trainees type them; most share no key word with the article they need.
PARAPHRASES = {
    "charged twice": "billing-disputes", "payment taken twice": "billing-disputes",
    "money taken out two times": "billing-disputes", "card charged but order cancelled": "billing-disputes",
    "my parcel never arrived": "delivery-delays", "package is late": "delivery-delays",
    "someone got into my account": "account-security", "hacked": "account-security", "two-step": "account-security",
    "cancel my membership": "subscriptions", "stop my plan": "subscriptions", "internet is down": "service-outages",
    "broken item arrived": "wrong-or-damaged-items", "sent me the wrong size": "wrong-or-damaged-items",
    "item is damaged": "wrong-or-damaged-items", "cheaper elsewhere": "price-match-policy",
    "technician visit": "engineer-appointments", "when will the engineer come": "engineer-appointments",
    "moving house new address": "delivery-address-changes", "gift card refund": "returns-and-refunds",
    "refund to a gift card": "returns-and-refunds", "send it back": "returns-and-refunds",
    "price went up": "price-changes", "bill is higher this month": "price-changes",
    "customer complaining on twitter": "social-media-handling",
}


def test_words_alone_find_most_paraphrases_in_the_top_three():
    found = {q: [a.id for a in KB.search(q)][:3] for q in PARAPHRASES}
    assert sum(want in found[q] for q, want in PARAPHRASES.items()) >= 20, found  # measured: 20 of 25


@pytest.mark.real_models
def test_paraphrased_queries_find_the_article_with_minilm():
    from scoring.embeddings import MiniLMEmbedder

    kb = KnowledgeBase.load(ROOT / "scenarios" / "kb", MiniLMEmbedder().embed)
    found = {q: [a.id for a in kb.search(q)][:3] for q in PARAPHRASES}
    assert all(want in found[q] for q, want in PARAPHRASES.items()), found  # measured: 25 of 25 in the top 3
    assert sum(found[q][0] == want for q, want in PARAPHRASES.items()) >= 20, found  # measured: 21 first
    assert kb.search("recipe for pancakes") == [] and kb.search("football scores") == []
