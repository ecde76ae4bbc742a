"""Channel rules: verdicts that are rules, not learned, each with its evidence.

- response_time: the reply's response time against the channel's standard (or the scenario's).
- no_personal_data_in_public: on a public channel, no personal data (account number, email, phone,
  address, password, card, date of birth) asked for, or written out, unless the sentence moves the
  conversation to a private channel first.
- no_reasking_bot_data: after a bot hand-off, no asking again for what the bot already collected.
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
from simulator.reply_acts import (
    SENSITIVE_DATA,
    analyse,
    is_request,
    moves_private,
    personal_data_disclosed,
    personal_data_requests,
    sentences,
)
from simulator.scenario import Fact, Scenario

# What no one at the company ever needs from a customer: asking for it is a fault on any channel.
SECRETS = {
    "password": r"pass ?words?|passcodes?|pass ?phrases?|log-?in details|log-?in credentials",
    "one-time code": r"one[- ]time (?:pass)?code|\botp\b|verification code|2fa code|authenticat\w* code|sms code|"
                     r"(?:six|6)[- ]digit code|code (?:we|you|that) (?:just )?(?:sent|texted|received|got)",
    "PIN": r"\bpins?\b",
    "full card number": r"(?:full|whole|long|entire|complete|16[- ]digit) (?:credit |debit )?card (?:number|no\.?)|"
                        r"long number on (?:the|your) card|\bcard (?:number|no\.?)",
    "card security code": r"\b(?:cvv2?|cvc2?|cv2)\b|security code on the back|(?:3|three)[- ]digit (?:security )?code",
    "security answers": r"memorable (?:word|information|answer)|security (?:question|answer)s?|mother'?s maiden name",
}
# A request to hand it over: a sharing verb a few words before the secret ("send me your password", "what's
# your PIN", "could you confirm the code we sent you", "we need your login details"), not "reset your password".
_SHARE = (r"(?:send|share|give|tell|provide|confirm|reply with|write|post|dm|message|read out|spell|"
          r"what(?:'s| is| was)|include|attach|drop|(?:can|could|may) (?:i|we) (?:have|get|take)|"
          r"need (?:your|the|that|those))")
_SECRET_REQUESTS = {kind: re.compile(rf"\b{_SHARE}\b(?:\W+\w+){{0,7}}?\W+(?:{pattern})", re.I)
                    for kind, pattern in SECRETS.items()}
# The agent doing the sharing verb ("I've sent you a new code", "we'll send you a new PIN", "I can confirm your
# card number was removed"): the company telling, not asking. Taken out of the sentence before matching.
_AGENT_TELLS = re.compile(r"\b(?:i|we)\b(?:'ve|'ll|'d|\s+(?:have|has|will|would|can|could|just|now|also|already))*"
                          r"\s+(?:send|sent|give|gave|text|texted|email|emailed|post|posted|confirm|confirmed)\b",
                          re.I)
_WARNING = re.compile(r"\b(never|don'?t|do not|won'?t|will not|no need|not need|shouldn'?t|should not|nobody|"
                      r"no one|without)\b", re.I)
_PARTIAL_CARD = re.compile(r"\b(last|first|final) (four|4|six|6|three|3|two|2) (digits|numbers)\b", re.I)


def secret_requests(reply: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each sentence that asks the customer for a secret."""
    found = []
    for sentence in sentences(reply):
        if _WARNING.search(sentence):
            continue
        asking = _AGENT_TELLS.sub(" ", sentence)
        for kind, pattern in _SECRET_REQUESTS.items():
            if pattern.search(asking) and not (kind == "full card number" and _PARTIAL_CARD.search(sentence)):
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
    asked = [(k, s) for k, s in personal_data_requests(reply) if k in SENSITIVE_DATA and not moves_private(s)]
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
