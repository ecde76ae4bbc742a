"""Knowledge-base search: predictable word matching, the scenario's own articles first."""

from __future__ import annotations

from pathlib import Path

from simulator.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
KB = KnowledgeBase.load(ROOT / "scenarios" / "kb")


def test_every_query_word_must_match_and_title_hits_rank_first():
    assert [a.id for a in KB.search("gift card refund")] == ["returns-and-refunds"]
    assert KB.search("two-step")[0].id == "account-security"
    assert KB.search("zebra crossing") == []


def test_empty_query_lists_the_scenarios_articles_and_citation_is_kb_id():
    [article] = KB.search("", prefer=["delivery-delays"])
    assert article.citation == "kb:delivery-delays" and article.title == "Delivery delays and lost parcels"


def test_preferred_articles_come_first():
    ids = [a.id for a in KB.search("refund", prefer=["billing-disputes"], limit=20)]
    assert ids[0] == "billing-disputes" and "returns-and-refunds" in ids


def test_missing_folder_is_an_empty_knowledge_base(tmp_path):
    assert KnowledgeBase.load(tmp_path / "nope").search("anything") == []
