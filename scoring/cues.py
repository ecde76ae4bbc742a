"""Guideline cues: one phrase pattern for each move the QA reviewers' guideline names.

The guideline (rubrics/README.md, ../shared/qa-guideline.md) says what counts for each criterion: "sorry to
hear your order arrived damaged", "I'll look into this", "let me check", "troubleshooting steps", "let us know
if that doesn't help", "asks them to continue in DM". Each pattern below is one of those moves, written from
the guideline, not fitted to any data set (one, `blames`, is a move the guideline says does not count:
deflecting blame); the classifiers learn how much each one weighs next to the MiniLM vector and the n-grams.
They are features, not verdicts: "we apologize" fires `apology` whether or not the reply is any good. What
n-grams of one author's phrasing cannot do, a cue does: it names the move in words other writers use too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

CUES: dict[str, dict[str, str]] = {
 'empathy': {
   'sorry_to_hear': r"\b(sorry|sad|unfortunate|gutted)\b[^.!?]{0,12}\b(to (hear|see|read|learn)|that you|you('re| are| were| have|'ve)|about (your|the)|for your)\b",
   'feeling_word': r"\b(frustrat\w*|annoy\w*|upset\w*|disappoint\w*|stress\w*|worr(y|ied|ying)|inconvenien(t|ce) for you|concern(ed|ing)|scar(y|ed)|awful|terrible|no fun|not fun|a pain|nightmare|the worst)\b",
   'understand_feel': r"\b(i|we) (completely |totally |can |fully |do )?(understand|appreciate|know|imagine|get) (how|that|why|what|this|it)\b",
   'oh_no': r"\b(oh no|oh dear|oh man|yikes|ugh|eek|ouch)\b",
   'not_experience': r"\bnot (the|an) (experience|start|way|service)\b|\bnot what (we|you)\b|\bshouldn't have (to|happened)\b",
   'want_it_work': r"\b(we|i) want (your|you|to make sure you|this to)\b",
   'hope_you': r"\b(hope|hoping) (you|your|that you|it gets|things)\b|\bcongrat\w*|\bglad to hear\b|\bhappy for you\b|\bsounds? (like )?(fun|great|lovely|exciting|tough|hard|stressful)\b",
   'customer_impact': r"\b(especially|particularly) (when|with|since|as)\b|\bmust (be|have been)\b",
 },
 'ownership': {
   'apology': r"\b(sorry|apologi[sz]e\w*|apologies|my bad|our bad)\b",
   'our_fault': r"\b(that'?s|it'?s|this is) (on us|our (fault|mistake|error))\b|\bour (mistake|error|fault)\b|\bwe (got|messed|dropped)\b|\bwe should have\b",
   'i_will': r"\b(i'?ll|i will|i am going to|i'm going to|we'?ll|we will|we are going to|we're going to|our team will|they'?ll|someone will)\b",
   'let_me': r"\blet me\b|\blet us (check|look|see|get|sort|fix)\b|\bleave it with me\b|\bi'?m (on it|looking|checking|going)\b|\bwe'?re (looking|checking|working|investigating|on it)\b",
   'i_have_done': r"\b(i'?ve|i have|we'?ve|we have)\s+(just |now |already )?(\w+ed|sent|made|put|set|got|taken|run|done|issued|passed|raised|flagged|looped|forwarded|escalated|booked|cancel+ed|refunded|credited|applied|added|removed|reset|changed|updated|submitted|logged|reported|arranged|ordered|processed|fixed|sorted|reversed)\b",
   'offer_to_act': r"\b(would you like|do you want|shall|should) (me|us|i|we) to\b|\b(shall|should|can|may) (i|we) (book|check|send|cancel|change|arrange|reserve|try|go ahead)\b",
   'here_to_help_act': r"\b(happy|glad|here) to (help|assist|look|check|sort)\b",
   # The guideline's "0 when the reply ... deflects blame": a move against ownership (its weight comes out < 0).
   'blames': r"\b(next time|you should (have|'ve)|you (didn'?t|did not|failed to|forgot to)|(your|his|her|their) (own )?fault|read the (instructions|manual|terms|faq)|not (our|my) (problem|fault|responsibility)|nothing (i|we) can do|like everyone else)\b",
 },
 'solution': {
   'link': r"https?://|www\.|\b\w+\.(com|co\.uk|org|net|io|ly|help)/\S*|\bkb:\S+",
   'steps': r"\b(try|trying|tap|click|go to|select|open|restart|reboot|unplug|plug|clear|update|reinstall|log (out|in)|sign (out|in)|turn (it )?off|switch off|head to|navigate|enter|choose|toggle|reset)\b",
   'resolution': r"\b(i'?ve|we'?ve|i have|we have|i'?ll|we'?ll|i will|we will|i can|we can|has been|have been|is being|will be|is now|are now|you'?ll (get|receive|see|have)|your)\b[^.!?]{0,40}\b(refund\w*|replace\w*|replacement|rebook\w*|reship\w*|credit\w*|compensat\w*|voucher|reimburs\w*|waive\w*|resen[dt]|re-sen[dt]|dispatch\w*|book\w*|cancel+\w*|confirm\w*|reserv\w*|fix\w*|resolv\w*|restor\w*|back up|arriv\w+|deliver\w*|sent|posted|issued|processed|applied|sorted)\b",
   'answer_fact': r"\b(is|are|will be|was|opens?|closes?|costs?|takes?)\b[^.?!]{0,40}\b(\d|today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|hours?|days?|minutes?|am|pm|free|available|unavailable|not available)\b",
   'route_how': r"\b(call|ring|phone|visit|email|message|contact)\b[^.?!]{0,30}(\d{3,}|@|https?://|\bon\b|\bat\b|\bvia\b)",
 },
 'follow_up': {
   'let_us_know': r"\b(let (us|me) know|keep (us|me) (posted|updated)|tell (us|me) (if|how|whether))\b",
   'reach_out': r"\b(reach (back )?out|get (back )?in touch|come back|pop back|give us a shout|drop us a|reply (here|to this)|just reply|feel free|don'?t hesitate|any (other |more |further )?questions|anything else)\b",
   'dm': r"\b(dm|direct message|private message|pm|inbox|send us a (dm|message)|message us)\b",
   'update_promise': r"\b(keep you (posted|updated|informed)|(we'?ll|i'?ll|will) (update|follow up|check back|get back|be in touch|contact|email|call|text|message|let you know|reply|send you)|follow(ing)? up|update you)\b",
   'question': r"\?",
   'if_not': r"\bif (it|that|this|that's|this is|you)\b[^.!?]{0,40}\b(doesn'?t|does not|isn'?t|still|not|don'?t|need|have any|want)\b",
 },
}

_COMPILED = [(criterion, name, re.compile(pattern, re.IGNORECASE))
             for criterion, patterns in CUES.items() for name, pattern in patterns.items()]
NAMES = tuple(f"{criterion}:{name}" for criterion, name, _ in _COMPILED)


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    """One row per text, one column per cue: 1.0 where the cue's pattern occurs."""
    out = np.zeros((len(texts), len(_COMPILED)), dtype=np.float64)
    for row, text in enumerate(texts):
        for col, (_, _, pattern) in enumerate(_COMPILED):
            if pattern.search(text):
                out[row, col] = 1.0
    return out
