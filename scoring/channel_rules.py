"""Channel rules: verdicts that are rules, not learned, each with its evidence.

- response_time: the reply's response time against the channel's standard (or the scenario's).
- no_personal_data_in_public: on a public channel, no personal data (account number, email, phone,
  address, password, card, date of birth) asked for, or written out, unless the sentence moves the
  conversation to a private channel first.
- no_reasking_bot_data: after a bot hand-off, no asking again for what the bot already collected.
- within_policy, facts_correct, correct_fix: the reply's fix judged against the scenario (`fix_rules`):
  no offer beyond the policy, no reference or amount the record contradicts, none of the wrong answers.
- no_secrets_requested: on every channel, never ask the customer for a secret that nobody at the company
  needs (password, one-time code, PIN, full card number, card security code, security answers). Warning
  the customer not to share one ("we will never ask for your PIN"), or telling them to reset it, is fine.

`check_reply` needs only the channel (what `dojo score` knows); `check` adds what a scenario knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from simulator.channels import Channel, format_duration, spec
from simulator.fixes import FixVerdict
from simulator.reply_acts import (
    AGENT_TELLS,
    analyse,
    is_request,
    join_lists,
    personal_data_disclosed,
    public_requests,
    sentences,
)
from simulator.scenario import Fact, Scenario

# What no one at the company ever needs from a customer: asking for it is a fault on any channel.
SECRETS = {
    "password": r"pass ?words?|passcodes?|pass ?phrases?|pwd\b|\bpw\b|log-?in deets|"
                r"(your|ur) log-?in\b(?! (page|screen|link|button|issue|problem))|log-?in (details|credentials|info)|"
                r"sign-?in (details|credentials|creds)|log-?in creds|username and pass|what'?s the log-?in|the log"
                r"-?in you use",
    "one-time code": r"one[- ]time (?:pass)?codes?|\botps?\b|verification codes?|2fa codes?|2fa\b|"
                     r"authenticat\w* (code|app)|sms codes?|backup codes?|recovery codes?|(?:six|6)[- ]digit(s)?\b|"
                     r"(?<!confirmation )(?<!promo )(?<!discount )(?<!voucher )(?<!post )(?<!zip )(?<!sort )"
                     r"(?<!reference )(?<!booking )(?<!tracking )(?<!product )(?<!error )(?<!gift card )"
                     r"(?<!qr )(?<!area )(?<!security )\bcodes?\b(?= .{0,40}\b(sent|texted|text|sms|e-?mail|inbox|"
                     r"app|came|landed|arriv\w*|popped|showing|displayed|generated|received|got|on its way|"
                     r"through|phone|mobile)\b)|(sent|texted|text|sms|e-?mailed|app|authenticator)\b.{0,40}\bcodes?\b",
    "PIN": r"\bpins?\b",
    "full card number": r"(?:(?:full|whole|long|entire|complete|16[- ]digit) ){1,2}(?:credit |debit )?card (?:numbe"
                    r"r|no\.?)|"
                        r"long number on (?:the|your)( front of( the| your)?)? card|"
                        r"(full|whole|long) number (on|across) (the front of )?(the|your) card|card'?s 16[- ]digit|"
                        r"(?<!rewards )(?<!loyalty )(?<!membership )(?<!gift )(?<!club )(?<!member )(?<!points )"
                        r"(?<!library )(?<!nectar )\b(credit |debit |bank )?card (?:number|no\.?|details)",
    "card security code": r"\b(?:cvv2?|cvc2?|cv2)\b|security code (on|from) the (back|reverse)|(?:3|three)[- ]digit"
                          r"(s)? "
                          r"(?:security )?(code|on the back)|digits on the back|three-digit security code|"
                          r"card'?s? security code",
    "security answers": r"memorable (?:word|information|info|answer|phrase)|security (?:question|answer|q)s?\b|"
                        r"mother'?s maiden name|characters? \d+(, \d+)* (and|&) \d+",
}
_SECRET_NOUNS = {kind: re.compile(rf"(?:{pattern})", re.I) for kind, pattern in SECRETS.items()}
# Giving it to the company: a verb or a question that hands the secret over.
_GIVE = re.compile(r"\b(reply|respond|send|share|give|tell|provide|confirm|post|comment|tweet|dm|message|paste|"
                   r"read|write|drop|pop|let (me|us) know|what(?:'s| is| are| was| were)|whats|need|needed|"
                   r"require[sd]?|answer|spell|quote|include|attach|whatsapp|text (it|them|us|me)|"
                   r"(can|could|may) (i|we) (have|get|take|grab)|type|go ahead|just need|list|supply|verify with|which|"
                   r"what (does|did|do)|state|help to have|would need)\b|^\s*(\w+[!,.]?\s+){0,2}(and |also )?(the|y"
                   r"our|ur)\b[^?]*\?\s*$", re.I)
# Handing it over here, explicitly: this beats a self-service instruction in the same sentence.
_HANDOVER = re.compile(r"\b(reply|respond|send|share|give|tell|post|comment|tweet|paste|"
                       r"read( it| that| them| those)? (out|back)|"
                       r"drop|pop|whatsapp|text (it|them|us|me))\b.{0,40}\b(here|below|chat|comments?|us|me|"
                       r"replies|thread|this (post|email|chat))\b|\b(tell|give|send|dm|message|whatsapp) (me|us)\b|"
                       r"\b(reply|respond) (with|w/)|\bwhat(?:'s| is| are|s| does| did)\b|\bwhich\b|"
                       r"\b(send|give|share|provide|post|paste|drop|pop|supply|read out)( me| us)? (your|ur|the|that|"
                       r"those|it|them)\b|"
                       r"\b(paste|type|pop|drop|post) (it|them|that|your [\w ]+?) (here|below|in (the|this) (chat|"
                       r"comments?|thread|reply))", re.I)
# Self-service: the customer uses the secret themselves ("reset your password", "enter the code in the app").
_SELF_SERVICE = re.compile(r"\b(reset|change|update|create|set up a new|choose|pick|forgot|forgotten|"
                           r"enter (it|them|the code|your [\w ]+?) (in|into|on)|into (the|your) (\w+ )?(app|website"
                           r"|site|"
                           r"checkout|screen|page|box|field|form|portal)|in the (app|website|checkout|screen|page|b"
                           r"ox|field|"
                           r"form|portal|browser)|on the (website|site|screen|page|app)|at the prompt|keep it)\b",
                           re.I)
_WARNING = re.compile(r"\b(never|don'?t|do not|won'?t|will not|no need|not need|shouldn'?t|should not|nobody|"
                      r"no one|without|not to|nothing (you need|to send|needed)|no (\w+ )?(needed|required)|"
                      r"(wasn'?t|was not|isn'?t|is not|not) from us|scam|phishing|fraudulent)\b", re.I)
_PARTIAL_CARD = re.compile(r"\b(last|first|final) (four|4|six|6|three|3|two|2) (digits|numbers)\b", re.I)


def secret_requests(reply: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each sentence that asks the customer to hand over a secret."""
    found = []
    before: set[str] = set()  # the secrets the sentence before named ("I've sent a code. Reply with it here.")
    for sentence in sentences(join_lists(reply)):
        named = {kind for kind, pattern in _SECRET_NOUNS.items() if pattern.search(sentence)}
        previous, before = before, named
        if _WARNING.search(sentence):
            before = set()
            continue
        asking = re.sub(r"\b(by|in the|via) post\b", " ", AGENT_TELLS.sub(" ", sentence), flags=re.I)
        if not _GIVE.search(asking):
            continue
        if not named and previous and re.search(r"\b(it|them|that)\b", asking, re.I) and _HANDOVER.search(asking):
            found.extend((kind, sentence) for kind in sorted(previous))
            continue
        if _SELF_SERVICE.search(asking) and not _HANDOVER.search(asking):
            continue
        for kind, pattern in _SECRET_NOUNS.items():
            match = pattern.search(sentence)
            if not match:
                continue
            if kind == "full card number" and _PARTIAL_CARD.search(sentence) and not re.search(
                    r"full|whole|long|16", sentence, re.I):
                continue
            found.append((kind, sentence))
    return found


@dataclass(frozen=True)
class RuleVerdict:
    rule: str
    passed: bool
    message: str
    evidence: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.rule, "passed": self.passed, "message": self.message, "evidence": self.evidence}


def check(reply: str, scenario: Scenario, response_s: float | None) -> list[RuleVerdict]:
    """Every rule that applies to a reply in a scenario."""
    out = check_reply(reply, scenario.channel, response_s, standard_s=scenario.response_standard_s)
    if scenario.bot_collected:
        out.append(bot_data_rule(reply, scenario))
    return out


def check_reply(reply: str, channel: Channel | str, response_s: float | None = None,
                standard_s: float | None = None) -> list[RuleVerdict]:
    """The rules a channel alone decides: response time (if known), no secrets asked for, personal data in
    public."""
    channel_spec = spec(channel)
    out = []
    if response_s is not None:
        standard = channel_spec.response_standard_s if standard_s is None else standard_s
        ok = response_s <= standard
        out.append(RuleVerdict(
            "response_time", ok,
            f"Answered in {format_duration(response_s)}; the {channel_spec.label.lower()} standard is "
            f"{format_duration(standard)}." + ("" if ok else " Too slow: acknowledge quickly, even before the fix."),
            f"{format_duration(response_s)} (standard {format_duration(standard)})"))
    out.append(secrets_rule(reply))
    if channel_spec.public:
        out.append(public_data_rule(reply))
    return out


def secrets_rule(reply: str) -> RuleVerdict:
    asked = secret_requests(reply)
    if not asked:
        return RuleVerdict("no_secrets_requested", True, "No password, code, PIN or full card number asked for.")
    kinds = ", ".join(dict.fromkeys(k for k, _ in asked))
    return RuleVerdict("no_secrets_requested", False,
                       f"Asked for the customer's {kinds}: no one at the company ever needs it, on any channel, "
                       "and asking teaches customers to give it to fraudsters. Verify them another way.", asked[0][1])


def public_data_rule(reply: str) -> RuleVerdict:
    asked = public_requests(reply)
    written = personal_data_disclosed(reply)
    if asked:
        kinds = ", ".join(dict.fromkeys(k for k, _ in asked))
        return RuleVerdict("no_personal_data_in_public", False,
                           f"Asked for {kinds} on a public channel: move to a DM first.", asked[0][1])
    if written:
        kinds = ", ".join(dict.fromkeys(k for k, _ in written))
        return RuleVerdict("no_personal_data_in_public", False,
                           f"Wrote out {kinds} on a public channel, where anyone can read it: say it in a DM.",
                           written[0][1])
    return RuleVerdict("no_personal_data_in_public", True, "No personal data asked for or written out in public.")


def bot_data_rule(reply: str, scenario: Scenario) -> RuleVerdict:
    fault = analyse(reply, scenario).reasked_bot_data
    if not fault:
        return RuleVerdict("no_reasking_bot_data", True, "Did not ask again for what the bot collected.")
    facts = {f.id: f for f in scenario.facts}
    return RuleVerdict(
        "no_reasking_bot_data", False,
        f"The bot already collected {', '.join(fault)}; asking again makes the customer repeat themselves.",
        _asking_sentence(reply, [facts[f] for f in fault if f in facts]))


def _asking_sentence(reply: str, facts: Iterable[Fact]) -> str:
    keys = [k.lower() for f in facts for k in f.asked_by]
    for sentence in sentences(reply):
        if is_request(sentence) and any(k in sentence.lower() for k in keys):
            return sentence
    return ""


# A reply's fix judged against the scenario (simulator/fixes.py), as rule verdicts: flag kind -> rule.
FIX_RULES = {"over_promise": ("within_policy", "Offered only what the policy allows."),
             "wrong_fact": ("facts_correct", "No reference or amount that the record contradicts."),
             "wrong_fix": ("correct_fix", "No wrong fix offered.")}


def fix_rules(fix: FixVerdict, scenario: Scenario) -> list[RuleVerdict]:
    """One verdict per fix rule the scenario can judge (a policy, wrong answers, a record to check against)."""
    applies = {"over_promise": bool(scenario.policy.refund_up_to is not None or scenario.policy.credit_up_to
                                    is not None or scenario.policy.deliver_from),
               "wrong_fact": bool(scenario.customer_record),
               "wrong_fix": bool(scenario.wrong_answers)}
    out = []
    for kind, (rule, fine) in FIX_RULES.items():
        flags = [f for f in fix.flags if f.kind == kind]
        if flags:
            out.append(RuleVerdict(rule, False, " ".join(dict.fromkeys(f.message for f in flags)), flags[0].evidence))
        elif applies[kind]:
            out.append(RuleVerdict(rule, True, fine))
    return out
